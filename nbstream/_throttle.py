"""``Throttle``: at most ``max_rate`` flushes a second, the first at once, a final one always.

Every live consumer of a stream needs the same timing and nothing else from the others:
the cell's output (:class:`~nbstream._live.LiveOutput`) re-renders a whole bundle, the
chat (:class:`~nbstream.chat._generation.Generation`) sends only the new text. Both hand
a ``flush`` callable to a throttle and call ``changed()`` for every chunk; what a flush
does is theirs. The shape is rich's ``Live``: a change is a cheap state flip, a flush is
the expensive part, and a timer thread (not the producer) decides when to flush.

The generating thread only flags "something changed" (``changed()``: an attribute test),
and one long-lived thread wakes on the flag, waits out the minimum interval, and flushes
once. The token loop never builds or serializes a message, which keeps the in-kernel
model at full speed. ``stop()`` waits for an interim flush in progress, then flushes from
the caller's thread, so the last flush is always the final one.

One thread serves every throttle in the process (cells, widgets, API calls): a new thread
per answer would cost a thread start per cell and, in ipykernel, a fresh IOPub pipe
socket that is only reclaimed seconds after the thread dies. Each throttle flushes inside
a copy of the ``contextvars`` context it was started in, which is where ipykernel keeps
the cell's parent header: its messages are routed to the cell that started them, not to
whichever cell runs next.

A flush that costs much waits longer for the next: after each one the throttle waits at
least its CPU time ÷ :data:`SHARE` (at most :data:`MAX_GAP`), so flushes never take
more than ~1 % of the time. A live answer's flush grows with the answer (the whole bundle
is rendered, sized and serialized again): a whole update of a 40–80 KB answer costs 1–2
ms of CPU, 2–4 % of the time at 20 a second, taken from the generating thread through the
GIL (measured in a kernel, ``bench/bench_show.py``). Answers whose flush costs under
0.25 ms — most, and every delta — keep ``max_rate``. The CPU time measured is the flushing
thread's own (``time.thread_time``): its wall time counts the waits for the GIL, which are
the generating thread running, not a cost. The kernel spends about as much again on each
flush on its IOPub thread, which sends it (measured in a kernel, 2,000 tiny-model tokens:
the other threads' CPU rose by 7.4 ms a cell, 3.7 ms of it the flushes themselves), hence
:data:`SHARE` is half of the 1 %.

The timing logic is tested with fake clocks and by calling ``service()`` by hand
(``Scheduler(background=False)``): no test sleeps to check an interval.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable

SHARE = 0.005
"""Half the most of the time flushes may take (1 %; the IOPub thread's sending is the
other half): a flush's CPU time × 200 passes before the next."""
MAX_GAP = 0.5
"""Seconds: however much a flush costs, the next may come this soon (a coarse CPU clock —
Windows' ticks are 15.6 ms — may overstate one)."""


class Throttle:
    """Calls ``flush`` at most ``max_rate`` times a second while changes come, then once more."""

    def __init__(
        self,
        flush: Callable[[], object],
        *,
        max_rate: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        scheduler: Scheduler | None = None,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self._flush = flush
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._gap = self._interval  # after the last flush: the interval, or longer if it cost
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._scheduler = scheduler if scheduler is not None else SCHEDULER
        self.flushes = 0  # flushes that completed, the final one included
        self._dirty = False  # set by the generating thread, cleared by the scheduler
        self._closed = False
        self._busy = threading.Lock()  # held while an interim flush runs
        self._context = contextvars.copy_context()
        self._last = float("-inf")

    def start(self) -> None:
        """Begin servicing changes, in the caller's context; the first flush is not delayed."""
        self._context = contextvars.copy_context()
        self._last = float("-inf")
        self._gap = self._interval
        self._scheduler.add(self)

    def changed(self) -> None:
        """Cheap: called for every chunk by the generating thread."""
        if not self._dirty:
            self._dirty = True
            self._scheduler.wake()

    def service(self) -> float | None:
        """The scheduler's call: flush if due; return seconds until due, or None if idle."""
        with self._busy:
            if self._closed or not self._dirty:
                return None
            wait = self._last + self._gap - self._clock()
            if wait > 0:
                return wait
            # Clear before flushing: a change made during the flush triggers the next one.
            self._dirty = False
            # A failed interim flush must not kill the stream; the final one retries.
            with contextlib.suppress(Exception):
                self._context.run(self._flush_now)
            return None

    def _flush_now(self) -> None:
        cpu = self._cpu_clock()
        self._flush()
        self.flushes += 1
        self._last = self._clock()
        cost = self._cpu_clock() - cpu
        self._gap = max(self._interval, min(cost / SHARE, MAX_GAP))

    def stop(self) -> None:
        """Stop interim flushes, then flush the final state (always)."""
        while True:
            # A second Ctrl-C must not leave an interim flush racing the final one.
            try:
                with self._busy:
                    self._closed = True
                break
            except KeyboardInterrupt:
                continue
        self._scheduler.remove(self)
        self._flush_now()


class Scheduler:
    """The one daemon thread that services every started :class:`Throttle`.

    ``background=False`` starts no thread: the owner calls :meth:`service` (tests).
    """

    def __init__(self, *, background: bool = True) -> None:
        self._background = background
        self._throttles: set[Throttle] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, throttle: Throttle) -> None:
        with self._lock:
            self._throttles.add(throttle)
            if self._background and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="nbstream-live-output", daemon=True
                )
                self._thread.start()

    def remove(self, throttle: Throttle) -> None:
        with self._lock:
            self._throttles.discard(throttle)

    def wake(self) -> None:
        self._wake.set()

    def service(self) -> float | None:
        """Service every throttle once; seconds until the next one is due, or None."""
        with self._lock:
            throttles = list(self._throttles)
        timeout: float | None = None
        for throttle in throttles:
            due = throttle.service()
            if due is not None:
                timeout = due if timeout is None else min(timeout, due)
        return timeout

    def _run(self) -> None:
        timeout: float | None = None
        while True:
            self._wake.wait(timeout)
            self._wake.clear()
            timeout = self.service()


SCHEDULER = Scheduler()
