"""``Stream``: one generation, iterated live once, then replayed from memory.

It owns the backend's generator and guarantees it is closed (``finally``), whatever
ends the loop: the answer finishing, the consumer breaking out, a kernel interrupt
(``KeyboardInterrupt`` raised inside the loop), a Stop from another thread (``Cancel``)
or an error. Closing the backend generator is what closes the HTTP response or releases
the llama.cpp model lock, so "stopped" always means the server stopped too.

Errors are recorded before they propagate, so what streamed is never lost:
``snapshot()`` after any ending gives the text that arrived and the status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ._accumulate import Accumulator
from ._exceptions import NbstreamError
from ._response import Response, Status
from ._types import Cancel, Chunk, Request, Usage
from .backends import Backend


class Stream:
    """Iterate for chunks (new text only); ``response()`` drives to the end."""

    def __init__(
        self,
        backend: Backend,
        request: Request,
        *,
        cancel: Cancel | None = None,
        on_chunk: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.backend = backend
        self.request = request
        self.cancel = cancel or Cancel()
        self.accumulator = Accumulator()
        self.status: Status = "streaming"
        self.error: NbstreamError | None = None
        self._on_chunk = on_chunk
        self._clock = clock
        self._started_at: float | None = None
        self._first_at: float | None = None
        self._ended_at: float | None = None
        self._chunks: list[Chunk] = []
        self._consumed = False

    def __iter__(self) -> Iterator[Chunk]:
        if self._consumed:
            yield from self._chunks
            return
        self._consumed = True
        yield from self._live()

    def _live(self) -> Iterator[Chunk]:
        clock = self._clock
        acc = self.accumulator
        on_chunk = self._on_chunk
        cancel = self.cancel
        chunks = self._chunks
        self._started_at = clock()
        generator = self.backend.stream(self.request, cancel)
        try:
            for chunk in generator:
                if self._first_at is None and (chunk.text or chunk.reasoning):
                    self._first_at = clock()
                acc.add(chunk)
                chunks.append(chunk)
                if on_chunk is not None:
                    on_chunk()
                yield chunk
                if cancel.requested:
                    break
            self.status = "interrupted" if cancel.requested else "done"
        except NbstreamError as exc:
            if cancel.requested:
                self.status = "interrupted"
            else:
                self._fail(exc)
            raise
        except KeyboardInterrupt:
            self.status = "interrupted"
            raise
        except GeneratorExit:
            # The consumer stopped reading: that is a stop, not an error.
            self.status = "interrupted"
            raise
        except Exception as exc:
            if cancel.requested:
                # Closing a response from another thread makes the read fail; that is the stop.
                self.status = "interrupted"
                return
            error = NbstreamError(
                f"The {self.request.backend} backend failed unexpectedly "
                f"({type(exc).__name__}: {exc}); the text so far is kept — please report this."
            )
            self._fail(error)
            raise error from exc
        finally:
            self._ended_at = clock()
            generator.close()

    def _fail(self, exc: NbstreamError) -> None:
        self.status = "error"
        self.error = exc

    def run(self) -> Response:
        """Drive the stream to its end without raising; the outcome is in the Response."""
        try:
            for _ in self:
                pass
        except NbstreamError:
            pass
        return self.snapshot()

    def snapshot(self) -> Response:
        """The answer so far (or final), with timings; cheap enough to call 20×/s."""
        acc = self.accumulator
        now = self._clock()
        end = self._ended_at if self._ended_at is not None else now
        ttft = None
        rate = None
        tokens = acc.completion_tokens
        if self._first_at is not None and self._started_at is not None:
            ttft = self._first_at - self._started_at
            span = end - self._first_at
            if span > 0 and tokens > 1:
                # The first token's arrival starts the clock, so it is not counted.
                rate = (tokens - 1) / span
        elapsed = end - self._started_at if self._started_at is not None else None
        usage = acc.usage or Usage(completion_tokens=tokens if self.status != "streaming" else None)
        return Response(
            text=acc.text,
            reasoning=acc.reasoning,
            status=self.status,
            finish_reason=acc.finish_reason,
            usage=usage,
            model=self.request.spec,
            ttft_s=ttft,
            tokens_per_s=rate,
            elapsed_s=elapsed,
            error=self.error.message if self.error is not None else None,
            tokens=tokens,
        )
