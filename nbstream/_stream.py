"""``Stream``: one generation, iterated live once, then replayed from memory.

It owns the backend's generator and guarantees it is closed (``finally``), whatever
ends the loop: the answer finishing, the consumer breaking out, a kernel interrupt
(``KeyboardInterrupt`` raised inside the loop), a Stop from another thread (``Cancel``)
or an error. Closing the backend generator is what closes the HTTP response or releases
the llama.cpp model lock, so "stopped" always means the server stopped too.

Errors are recorded before they propagate, so what streamed is never lost:
``snapshot()`` after any ending gives the text that arrived and the status. The error
raised and recorded is the user-facing one, its message masked (see :mod:`._exceptions`).

Secrets are masked here, once, as chunks arrive (:class:`~nbstream._secrets.StreamMasker`):
the chunks it yields, the accumulated text every live view renders, and the recording
only ever hold masked text, with the end that could still become a key held back until
the next chunk. The held-back tail is released when the stream ends, whatever ends it:
yielded as a last chunk when the loop ends normally (or by an error), and in
``snapshot()`` in every case.

Times are offsets (seconds) from the moment the request was sent, read from ``clock``
(``time.perf_counter`` unless the caller passes another): each chunk's arrival (unless
nobody listens for it: a driven stream of plain strings with no :meth:`Stream.on_end`
listener takes the untimed loop), the first token, the end. A replay passes the
recording's own clock (see :mod:`nbstream.recording`), so it reports the recorded time
to first token and rate with the very same arithmetic: bit for bit the same floats.

When the stream ends, whatever ends it, the callbacks given to :meth:`Stream.on_end`
receive an :class:`Ending`: the chunks with their arrival offsets, the end, how it ended
and the error. That is all recording needs, and all the Stream knows of it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from ._accumulate import Accumulator
from ._exceptions import NbstreamError
from ._response import Response, Status
from ._secrets import StreamMasker, mask, secret_values
from ._types import Cancel, Chunk, Request, Usage, text_chunk
from .backends import Backend

How = Literal["done", "stop", "interrupt", "closed", "error"]
"""How a stream ended: done, stop (``Cancel``), interrupt (a kernel interrupt), closed
(the consumer stopped reading) or error."""


@dataclass(frozen=True)
class Ending:
    """A finished stream, as :meth:`Stream.on_end` callbacks receive it.

    ``chunks`` are the chunks that arrived (masked), ``offsets`` the seconds after the
    request at which each arrived (same length), or None when no listener was registered
    before the stream started and the times were not taken (see :meth:`Stream.on_end`);
    ``tail`` is the held-back text released at the end, if any (it arrived with the
    chunks before it); ``end`` is the offset at which the stream ended.
    """

    request: Request
    chunks: tuple[Chunk, ...]
    offsets: tuple[float, ...] | None
    tail: Chunk | None
    end: float
    how: How
    error: NbstreamError | None


def _ignore(_at: float) -> None:
    """An untimed stream's note of an arrival: nothing is kept."""


def _nothing() -> None:
    """No live view to tell of a chunk."""


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
        self._started_at: float | None = None  # the clock's reading; the rest are offsets
        self._first: float | None = None
        self._end: float | None = None
        self._chunks: list[Chunk | str] = []  # a backend's plain str is kept as it came
        self._offsets: list[float] = []  # each arrived chunk's offset (cheap: kept always)
        self._ending: How = "done"
        self._on_end: list[Callable[[Ending], object]] = []
        self._consumed = False
        self._secrets = secret_values(request)
        self._masker = StreamMasker(self._secrets) if self._secrets else None
        self._released = False
        self._tail: Chunk | None = None  # the held-back text released at the end
        self._timed = True  # each chunk's arrival is noted (see _untimed)

    def __iter__(self) -> Iterator[Chunk]:
        if self._consumed:
            yield from self._arrived()
            return
        self._consumed = True
        yield from self._live()

    def drive(self) -> None:
        """Read the stream to its end, handing out no chunk; raises as iterating does.

        For a consumer that only reads :meth:`snapshot` (the live output): no chunk is
        built for a plain ``str`` and nothing is yielded per chunk, which is most of the
        per-chunk cost of a fast source (``show()`` over an in-memory generator).
        """
        if self._consumed:
            return
        self._consumed = True
        for _ in self._live(hand_out=False):
            pass

    def _arrived(self, end: int | None = None) -> list[Chunk]:
        """The chunks so far (the first ``end``), each a :class:`Chunk` (a plain ``str`` from
        the backend is kept as it came until someone asks for its chunk)."""
        return [text_chunk(c) if isinstance(c, str) else c for c in self._chunks[:end]]

    def _live(self, hand_out: bool = True) -> Iterator[Chunk]:
        clock = self._clock
        acc = self.accumulator
        add_text = acc.text_appender()
        on_chunk = self._on_chunk
        cancel = self.cancel
        chunks = self._chunks
        offsets = self._offsets
        keep, note = chunks.append, offsets.append
        started = self._started_at = clock()
        masker = self._masker
        generator = self.backend.stream(self.request, cancel)
        # Driven with nobody waiting for the chunks' times (no on_end listener yet, so no
        # recording) and no secret to mask: plain strings take the untimed loop.
        untimed = not hand_out and masker is None and not self._on_end
        if untimed:
            note = _ignore
            self._timed = False
        try:
            source: Iterable[Chunk | str] = generator
            if untimed:
                left = self._untimed(generator, started)
                source = () if left is None else itertools.chain((left,), generator)
            for chunk in source:
                at = clock() - started
                if isinstance(chunk, str):
                    # Chunk(text=chunk), given as the str itself (the py backend's plain
                    # text): kept as it is, a Chunk built only for a consumer that takes one.
                    if masker is None:
                        if chunk:
                            if self._first is None:
                                self._first = at
                            add_text(chunk)
                        keep(chunk)
                        note(at)
                        if on_chunk is not None:
                            on_chunk()
                        if hand_out:
                            yield text_chunk(chunk)
                        if cancel.requested:
                            break
                        continue
                    chunk = text_chunk(chunk)
                if masker is not None:
                    chunk = masker.chunk(chunk)
                # A chunk whose text is all held back still brought a token (its count).
                if self._first is None and (chunk.text or chunk.reasoning or chunk.tokens):
                    self._first = at
                acc.add(chunk)
                keep(chunk)
                note(at)
                if on_chunk is not None:
                    on_chunk()
                if hand_out:
                    yield chunk
                if cancel.requested:
                    break
            self.status = "interrupted" if cancel.requested else "done"
            self._ending = "stop" if cancel.requested else "done"
        except NbstreamError as exc:
            error = exc
            if cancel.requested:
                self.status = "interrupted"
                self._ending = "stop"
            else:
                error = self._fail(exc)
            tail = self._release()
            if tail is not None and hand_out:
                yield tail  # the partial answer is complete before the error is raised
            if error is exc:
                raise
            raise error.with_traceback(exc.__traceback__)  # noqa: B904 - chained like exc
        except KeyboardInterrupt:
            self.status = "interrupted"
            self._ending = "interrupt"
            raise
        except GeneratorExit:
            # The consumer stopped reading: that is a stop, not an error.
            self.status = "interrupted"
            self._ending = "closed"
            raise
        except Exception as exc:
            if cancel.requested:
                # Closing a response from another thread makes the read fail; that is the stop.
                self.status = "interrupted"
                self._ending = "stop"
                tail = self._release()
                if tail is not None and hand_out:
                    yield tail
                return
            error = self._fail(
                NbstreamError(
                    f"The {self.request.backend} backend failed unexpectedly "
                    f"({type(exc).__name__}: {exc}); the text so far is kept — please report this."
                )
            )
            raise error from exc
        finally:
            self._end = clock() - started
            generator.close()
            tail = self._release()
            self._ended()
        # Only an ending that did not raise gets here; a consumer closing now is no stop.
        if tail is not None and hand_out:
            yield tail

    def _untimed(self, generator: Iterator[Chunk | str], started: float) -> Chunk | str | None:
        """Read plain non-empty strings with no clock per chunk; return the first item
        that is not one (the general loop takes it and the rest), or None at the end or
        on a stop.

        Each chunk's arrival time is what a recording stores, and nothing else needs it:
        the first token's time and the end are read all the same. Reading the clock and
        keeping the offset was ~90 ns of the ~250 a chunk cost ``show()`` over a string
        generator, and the accumulator's method call ~50 more (measured in-process,
        20,000 chunks); here a chunk costs the two list appends, the live output's note
        and the stop check. Used only where no :meth:`on_end` listener was registered
        before the stream started (so no recording) and nothing is masked.
        """
        keep = self._chunks.append
        add_text = self.accumulator.text_appender()
        on_chunk = self._on_chunk or _nothing
        cancel = self.cancel
        # The first string is read apart, to take the first token's time once; the loop
        # after it is the same without that line, so no chunk pays for a test of _first.
        for chunk in generator:
            if type(chunk) is not str or not chunk:
                return chunk
            self._first = self._clock() - started
            add_text(chunk)
            keep(chunk)
            on_chunk()
            if cancel.requested:
                return None
            break
        else:
            return None
        for chunk in generator:
            if type(chunk) is not str or not chunk:
                return chunk
            add_text(chunk)
            keep(chunk)
            on_chunk()
            if cancel.requested:  # set by another thread (mypy sees only this one)
                return None  # type: ignore[unreachable]
        return None

    def _release(self) -> Chunk | None:
        """Add the held-back tail to the answer (once); the chunk to yield, if any."""
        if self._masker is None or self._released:
            return None
        self._released = True
        text, reasoning = self._masker.release()
        if not (text or reasoning):
            return None
        self.accumulator.release(text, reasoning)
        self._tail = Chunk(text=text, reasoning=reasoning)
        self._chunks.append(self._tail)
        return self._tail

    def on_end(self, callback: Callable[[Ending], object]) -> None:
        """Call ``callback(ending)`` when the stream ends (at once if it already has).

        Callbacks run in the order given, in the thread that drives the stream, after the
        backend is closed. Each chunk's arrival time is taken only for a stream that had a
        listener when it started (a recording registers at once) or is iterated: a
        listener added later to a driven one gets ``offsets=None``. One that raises ends
        the stream with its exception (the callbacks after it do not run): that is how a
        recording that cannot be written is reported.
        """
        if self._end is None:
            self._on_end.append(callback)
        else:
            callback(self._ending_now())

    def _ended(self) -> None:
        callbacks, self._on_end = self._on_end, []
        if callbacks:
            ending = self._ending_now()
            for callback in callbacks:
                callback(ending)

    def _ending_now(self) -> Ending:
        # The released tail, if any, was appended last.
        arrived = len(self._chunks) - (self._tail is not None)
        return Ending(
            request=self.request,
            chunks=tuple(self._arrived(arrived)),
            offsets=tuple(self._offsets) if self._timed else None,
            tail=self._tail,
            end=self._end if self._end is not None else 0.0,
            how=self._ending,
            error=self.error,
        )

    def _fail(self, exc: NbstreamError) -> NbstreamError:
        """Record the error; return the one the user sees (raised, kept, recorded)."""
        self.status = "error"
        self._ending = "error"
        # A server may echo the key in its error; the message is all the user sees.
        message = mask(exc.message, self._secrets)
        self.error = exc if message == exc.message else exc._with_message(message)
        return self.error

    def response(self) -> Response:
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
        end = self._end
        if end is None and self._started_at is not None:
            end = self._clock() - self._started_at
        ttft = None
        rate = None
        tokens = acc.completion_tokens
        first = self._first
        if first is not None and end is not None:
            ttft = first
            span = end - first
            if span > 0 and tokens > 1:
                # The first token's arrival starts the clock, so it is not counted.
                rate = (tokens - 1) / span
        usage = acc.usage or Usage(completion_tokens=tokens if self.status != "streaming" else None)
        return Response(
            text=acc.text,  # masked as it arrived
            reasoning=acc.reasoning,
            status=self.status,
            finish_reason=acc.finish_reason,
            usage=usage,
            model=self.request.spec,
            ttft_s=ttft,
            tokens_per_s=rate,
            elapsed_s=end,
            error=self.error.message if self.error is not None else None,
            tokens=tokens,
        )
