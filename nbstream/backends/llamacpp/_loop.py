"""The llama.cpp token loop: one ``generate()`` step, one piece of text, one chunk.

llama-cpp-python's ``create_completion(stream=True)`` detokenizes the whole answer again
for every token (its cost per token grows with the answer: ~5 tok/s where the model
itself runs at thousands), holds back everything after an invalid UTF-8 byte until the
end and drops that byte, and reports no usage. So nbstream runs its own loop over
``Llama.generate()``:

* each token is detokenized alone, and the bytes go through an incremental UTF-8
  decoder, so a character split across byte tokens comes out whole and an invalid byte
  becomes U+FFFD without holding anything back. The piece of a sentencepiece token
  already carries its leading space (``▁word`` → `` word``); llama-cpp-python's own
  tokenizer ignores ``prev_tokens``, so none are passed;
* stop strings hold back only the tail of the text that could still become a stop
  string (:class:`StopMatcher`), and nothing after a match is ever yielded;
* token counts are exact: every generated token is counted in exactly one chunk's
  ``tokens`` (a token whose bytes do not finish a character yet is carried into the
  next chunk), and the last chunk carries ``Usage``. The end-of-generation token is
  not counted, as in OpenAI-style usage.

User logits processors run inside a ctypes callback, where an exception (including the
``KeyboardInterrupt`` of a kernel interrupt) would be printed and swallowed;
:class:`GuardedProcessors` carries it out and the loop re-raises it after the token.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..._decoders import UTF8Decoder
from ..._holdback import partial_start
from ..._types import Cancel, Chunk, Usage
from ._abort import PrefillGuard

LogitsProcessor = Callable[[Any, Any], Any]


class StopMatcher:
    """Cuts text at the first stop string, holding back only what could start one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self.held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return the text that is safe to show, and whether a stop string was reached."""
        buffer = self.held + text
        first = -1
        for stop in self.stops:
            found = buffer.find(stop)
            if found != -1 and (first == -1 or found < first):
                first = found
        if first != -1:
            self.held = ""
            return buffer[:first], True
        cut = partial_start(buffer, self.stops)
        self.held = buffer[cut:]
        return buffer[:cut], False

    def flush(self) -> str:
        """The held-back tail, once it is known that no stop string follows."""
        held, self.held = self.held, ""
        return held


class GuardedProcessors:
    """The request's logits processors, with any exception kept for the loop to raise."""

    def __init__(self, processors: Sequence[LogitsProcessor]) -> None:
        self.processors = tuple(processors)
        self.error: BaseException | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.error is not None:
            return scores
        try:
            for processor in self.processors:
                scores = processor(input_ids, scores)
        except BaseException as exc:  # re-raised by the token loop, outside the callback
            self.error = exc
        return scores

    def raise_pending(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error


def generate_chunks(
    llama_cpp: Any,
    llama: Any,
    prompt_tokens: Sequence[int],
    *,
    max_tokens: int,
    sampling: dict[str, Any],
    stop: Sequence[str] = (),
    guard: GuardedProcessors | None = None,
    cancel: Cancel | None = None,
) -> Iterator[Chunk]:
    """Yield the answer's chunks; the caller holds the model's lock around this."""
    is_eog = llama_cpp.llama_vocab_is_eog
    vocab = llama._model.vocab
    detokenize = llama.detokenize
    decoder = UTF8Decoder()
    decode = decoder.decode
    matcher = StopMatcher(stop) if stop else None
    processors = [guard] if guard is not None else None
    produced = 0
    reported = 0
    finish: str | None = "length"
    stopped = False
    text = ""
    tokens = llama.generate(prompt_tokens, logits_processor=processors, **sampling)
    try:
        # The prompt is processed inside the first next(): make that interruptible.
        first: int | None = None
        with PrefillGuard(llama_cpp, llama, cancel) as prefill:
            first = next(tokens, None)
        if prefill.aborted:
            finish = None
        for token in itertools.chain((first,), tokens) if first is not None else ():
            if guard is not None:
                guard.raise_pending()
            if is_eog(vocab, token):
                finish = "stop"
                break
            produced += 1
            text = decode(detokenize([token]))
            if matcher is not None and text:
                text, stopped = matcher.feed(text)
                if stopped:
                    finish = "stop"
                    break
            if text:
                yield Chunk(text=text, tokens=produced - reported)
                reported = produced
            if produced >= max_tokens:
                break
            if cancel is not None and cancel.requested:
                finish = None
                break
    finally:
        tokens.close()
    if not stopped:
        text = decoder.flush()
        if matcher is not None:
            text, stopped = matcher.feed(text)
            if stopped:
                finish = "stop"
            else:
                text += matcher.flush()
    yield Chunk(
        text=text,
        tokens=produced - reported,
        finish_reason=finish,
        usage=Usage(prompt_tokens=len(prompt_tokens), completion_tokens=produced),
    )
