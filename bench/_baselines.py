"""Baselines the benchmarks measure nbstream against; not part of the library.

``raw_generate_loop`` is the ceiling for the in-kernel model: the smallest correct token
loop over llama-cpp-python, with none of nbstream's machinery. It lives here, beside the
benchmarks that use it (``bench_llama_loop.py``, ``bench_magic.py``), so nothing in
``nbstream/`` ships code that only a benchmark calls. ``tests/test_llamacpp.py`` checks
that it produces the backend's text, so the baseline measures the same work.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Sequence
from typing import Any


def raw_generate_loop(llama: Any, tokens: Sequence[int], n: int) -> tuple[str, float]:
    """Greedy ``generate()`` + per-token detokenize + incremental UTF-8, nothing else.

    No chunks, stop strings, counting or cancel: stops at the end-of-generation token or
    after ``n`` tokens. Returns the text and the seconds it took.
    """
    from llama_cpp import llama_vocab_is_eog

    vocab = llama._model.vocab
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []
    start = time.perf_counter()
    generator = llama.generate(tokens, temp=0.0)
    for count, token in enumerate(generator, 1):
        if llama_vocab_is_eog(vocab, token):
            break
        parts.append(decoder.decode(llama.detokenize([token])))
        if count >= n:
            break
    generator.close()
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts), time.perf_counter() - start
