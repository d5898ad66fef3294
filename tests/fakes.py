"""Hand-written backends for testing the pipeline without I/O (no mocks)."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from typing import Any

from nbstream._exceptions import NbstreamError
from nbstream._response import Response
from nbstream._stream import Stream
from nbstream._types import Cancel, Chunk, Request


class ListBackend:
    """Yields the given chunks, optionally pausing, then optionally raising."""

    name = "fake"

    def __init__(
        self,
        chunks: Sequence[Chunk],
        *,
        delay: float = 0.0,
        error: BaseException | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.delay = delay
        self.error = error
        self.closed = False
        self.started = 0

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        self.started += 1
        try:
            for chunk in self.chunks:
                if self.delay:
                    time.sleep(self.delay)
                yield chunk
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True

    def models(self, request: Request) -> list[str]:
        return ["one", "two"]

    def describe(self, request: Request) -> dict[str, Any]:
        return {"model": request.model}


def text_chunks(text: str) -> list[Chunk]:
    return [Chunk(text=ch) for ch in text]


class Boom(NbstreamError):
    pass


def drain(stream: Stream) -> tuple[Response, NbstreamError | None]:
    """Read ``stream`` to its end as a user's loop would: the answer, and the error if any."""
    error: NbstreamError | None = None
    try:
        for _ in stream:
            pass
    except NbstreamError as exc:
        error = exc
    return stream.snapshot(), error
