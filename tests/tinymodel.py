"""A tiny llama-architecture GGUF with seeded random weights, written in milliseconds.

Tests and benchmarks need a *real* model that llama.cpp loads and runs, not a fake: the
token loop, the tokenizer, the chat template and the log plumbing are what is under
test. Random weights are enough for that, and they keep the file small (~0.5 MB) and the
speed high (thousands of tokens per second), so the cost of nbstream's own loop shows.

The vocabulary is laid out so that tests can name token ids without loading anything:

* ``0..2`` — ``<unk>``, ``<s>``, ``</s>`` (:data:`UNK_ID`, :data:`BOS_ID`, :data:`EOS_ID`);
* ``3..258`` — the 256 byte tokens ``<0xNN>`` (:func:`byte_id`), typed BYTE so that any
  UTF-8 text tokenizes (sentencepiece byte fallback) and so that a test can force a
  character out one byte at a time;
* then ordinary sentencepiece pieces: every printable ASCII character, ``▁``-prefixed
  English words together with all their prefixes (the sentencepiece merge needs each
  intermediate piece to exist), a few CJK characters and emoji, then ``vocab_extra``.

The ``output`` rows of the special and byte tokens are zero while all other rows are
random, so under greedy sampling (``temperature=0``) the model only ever picks an ordinary
piece: it never stops on its own and never emits a lone byte, which is what a benchmark
that generates thousands of tokens needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gguf
import numpy as np

UNK_ID = 0
BOS_ID = 1
EOS_ID = 2
FIRST_PIECE_ID = 3 + 256

EMBEDDING = 64
LAYERS = 2
HEADS = 4
FEED_FORWARD = 128

_WORD_TEXT = (
    "the be to of and a in that have I it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if "
    "about who get which go me when make can like time no just him know take people into "
    "year your good some could them see other than then now look only come its over think "
    "also back after use two how our work first well way even new want because any these "
    "give day most us Hello world hello stream token model answer notebook Jupyter kernel "
    "llama python code cell print ok end more"
)
WORDS = tuple(_WORD_TEXT.split())
EXTRA_CHARACTERS = ("你", "好", "世", "界", "中", "文", "é", "ü", "🙂", "🚀")

SIMPLE_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def byte_id(value: int) -> int:
    """The id of the byte token ``<0xNN>`` for ``value`` (0–255)."""
    if not 0 <= value <= 255:
        raise ValueError(f"byte value out of range: {value}")
    return 3 + value


def pieces(vocab_extra: Sequence[str] = ()) -> list[str]:
    """The ordinary (non-special, non-byte) pieces, in id order from :data:`FIRST_PIECE_ID`."""
    seen: dict[str, None] = {"▁": None}
    for code in range(33, 127):
        seen[chr(code)] = None
    for word in WORDS:
        spelled = "▁" + word
        for end in range(2, len(spelled) + 1):
            seen[spelled[:end]] = None
    for character in EXTRA_CHARACTERS:
        seen[character] = None
    for piece in vocab_extra:
        seen[piece] = None
    return list(seen)


def vocabulary(vocab_extra: Sequence[str] = ()) -> list[str]:
    """Every token text, indexed by id."""
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{value:02X}>" for value in range(256)]
    return specials + byte_tokens + pieces(vocab_extra)


def piece_id(piece: str, vocab_extra: Sequence[str] = ()) -> int:
    """The id of an ordinary piece such as ``"▁hello"`` or ``"你"``."""
    return FIRST_PIECE_ID + pieces(vocab_extra).index(piece)


def write_tiny_model(
    path: Path,
    *,
    chat_template: str | None = None,
    vocab_extra: Sequence[str] = (),
    context_length: int = 8192,
    seed: int = 0,
) -> Path:
    """Write the tiny model to ``path`` and return ``path``; same arguments, same bytes."""
    tokens = vocabulary(vocab_extra)
    n_vocab = len(tokens)
    types = (
        [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
        + [gguf.TokenType.BYTE] * 256
        + [gguf.TokenType.NORMAL] * (n_vocab - FIRST_PIECE_ID)
    )
    # Sentencepiece merges the highest-scoring adjacent pair first: longer pieces score
    # higher, so a word is built up through its prefixes into one token.
    scores = [0.0] * FIRST_PIECE_ID + [float(len(t)) for t in tokens[FIRST_PIECE_ID:]]

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("nbstream tiny test model")
    writer.add_context_length(context_length)
    writer.add_embedding_length(EMBEDDING)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(EMBEDDING // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types([int(t) for t in types])
    writer.add_unk_token_id(UNK_ID)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    rng = np.random.default_rng(seed)

    def weights(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    ones = np.ones(EMBEDDING, dtype=np.float32)
    output = weights(n_vocab, EMBEDDING, scale=0.5)
    output[:FIRST_PIECE_ID] = 0.0  # specials and bytes: never the greedy choice
    tensors: dict[str, np.ndarray] = {
        "token_embd.weight": weights(n_vocab, EMBEDDING, scale=1.0),
        "output_norm.weight": ones,
        "output.weight": output,
    }
    inner = 1.0 / np.sqrt(EMBEDDING)
    for block in range(LAYERS):
        prefix = f"blk.{block}."
        tensors[prefix + "attn_norm.weight"] = ones
        tensors[prefix + "attn_q.weight"] = weights(EMBEDDING, EMBEDDING, scale=inner)
        tensors[prefix + "attn_k.weight"] = weights(EMBEDDING, EMBEDDING, scale=inner)
        tensors[prefix + "attn_v.weight"] = weights(EMBEDDING, EMBEDDING, scale=inner)
        tensors[prefix + "attn_output.weight"] = weights(EMBEDDING, EMBEDDING, scale=inner)
        tensors[prefix + "ffn_norm.weight"] = ones
        tensors[prefix + "ffn_gate.weight"] = weights(FEED_FORWARD, EMBEDDING, scale=inner)
        tensors[prefix + "ffn_up.weight"] = weights(FEED_FORWARD, EMBEDDING, scale=inner)
        tensors[prefix + "ffn_down.weight"] = weights(EMBEDDING, FEED_FORWARD, scale=inner)
    for name, array in tensors.items():
        writer.add_tensor(name, array)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
