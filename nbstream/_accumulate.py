"""The fold of chunks into an answer: text, reasoning, usage, finish reason.

Kept apart from transport and display so that every backend, the live output, the
widget and replay agree on what an answer *is*. ``add`` is the only thing on the
generation's hot path, so it only appends; joining happens when someone reads ``text``
(the live output does that at most ~20 times a second, from its own thread — a list
append and ``str.join`` are each atomic under the GIL, so readers see a consistent prefix).
"""

from __future__ import annotations

from ._types import Chunk, Usage


class Accumulator:
    """Collects chunks. No clock and no I/O: timing belongs to the caller."""

    __slots__ = (
        "_reasoning_parts",
        "_text_parts",
        "finish_reason",
        "model",
        "tokens",
        "usage",
    )

    def __init__(self) -> None:
        self._text_parts: list[str] = []
        self._reasoning_parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.tokens = 0

    def add(self, chunk: Chunk) -> None:
        if chunk.text:
            self._text_parts.append(chunk.text)
        if chunk.reasoning:
            self._reasoning_parts.append(chunk.reasoning)
        # Backends that know token counts say so; for the others one content delta is
        # one token, which is what OpenAI-compatible servers and Ollama send.
        self.tokens += chunk.tokens or (1 if (chunk.text or chunk.reasoning) else 0)
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = _merge_usage(self.usage, chunk.usage)
        if chunk.model is not None:
            self.model = chunk.model

    def release(self, text: str, reasoning: str) -> None:
        """Add text that was held back (a possible key) and is released at the end.

        It was already counted with the chunk it arrived in, so it adds no token.
        """
        if text:
            self._text_parts.append(text)
        if reasoning:
            self._reasoning_parts.append(reasoning)

    @property
    def text(self) -> str:
        # Never compact the list here: a reader thread doing so could drop an append.
        return "".join(self._text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning_parts)

    @property
    def completion_tokens(self) -> int:
        """Reported count when the backend gave one, else the count of deltas seen."""
        if self.usage is not None and self.usage.completion_tokens is not None:
            return self.usage.completion_tokens
        return self.tokens


def _merge_usage(old: Usage | None, new: Usage) -> Usage:
    if old is None:
        return new
    return Usage(
        prompt_tokens=new.prompt_tokens if new.prompt_tokens is not None else old.prompt_tokens,
        completion_tokens=(
            new.completion_tokens if new.completion_tokens is not None else old.completion_tokens
        ),
    )
