"""``LiveOutput``: one display, then coalesced updates, and always a final one.

Jupyter drops (does not queue) IOPub messages above ~1,000/s, and every
``update_display_data`` carries the whole answer again, so sending one per token is
both O(n²) and lossy. Here the generating thread only flags "something changed"
(``changed()``: an attribute test), and one long-lived render thread wakes on the flag,
waits out the minimum interval, renders the current state once and publishes it. The
token loop never builds or serializes a message, which keeps the in-kernel model at full
speed. ``stop()`` waits for an interim update in progress, then publishes the final state
from the caller's thread, so the last message sent is always the final one.

One thread serves every live output in the process (cells, widgets, API calls): a new
thread per answer would cost a thread start per cell and, in ipykernel, a fresh IOPub
pipe socket that is only reclaimed seconds after the thread dies. Each output renders
inside a copy of the ``contextvars`` context it was started in, which is where ipykernel
keeps the cell's parent header: its updates are routed to the cell that started them,
not to whichever cell runs next.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

Bundle = tuple[dict[str, Any], dict[str, Any]]


class Publisher(Protocol):
    """Where bundles go: IPython's display machinery, or a list in tests."""

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None: ...

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None: ...


class IPythonPublisher:
    """Publishes through IPython's display (``display_data`` then ``update_display_data``)."""

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        from IPython.display import display

        display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        from IPython.display import update_display

        update_display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]


class LiveOutput:
    """Shows ``render()`` once, re-renders at most ``max_rate`` times a second, then finally."""

    def __init__(
        self,
        render: Callable[[], Bundle],
        publisher: Publisher | None = None,
        *,
        max_rate: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self._publisher: Publisher = publisher or IPythonPublisher()
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._clock = clock
        self.display_id = uuid.uuid4().hex
        self.updates = 0  # update messages sent, the final one included
        self._dirty = False  # set by the generating thread, cleared by the render thread
        self._closed = False
        self._busy = threading.Lock()  # held while an interim update is being published
        self._context = contextvars.copy_context()
        self._last = 0.0

    def start(self) -> None:
        self._context = contextvars.copy_context()
        data, metadata = self._render()
        self._publisher.show(data, metadata, self.display_id)
        # The first text goes out at once; the interval applies between updates.
        self._last = float("-inf")
        RENDER_THREAD.add(self)

    def changed(self) -> None:
        """Cheap: called for every chunk by the generating thread."""
        if not self._dirty:
            self._dirty = True
            RENDER_THREAD.wake()

    def service(self) -> float | None:
        """Render thread: publish if due; return seconds until due, or None if idle."""
        with self._busy:
            if self._closed or not self._dirty:
                return None
            wait = self._last + self._interval - self._clock()
            if wait > 0:
                return wait
            # Clear before rendering: a change made while we render triggers the next one.
            self._dirty = False
            # A failed interim update must not kill the stream; the final one retries.
            with contextlib.suppress(Exception):
                self._context.run(self._publish)
            return None

    def _publish(self) -> None:
        data, metadata = self._render()
        self._publisher.update(data, metadata, self.display_id)
        self.updates += 1
        self._last = self._clock()

    def stop(self) -> None:
        """Stop interim updates, then publish the final state (always)."""
        while True:
            # A second Ctrl-C must not leave an interim update racing the final one.
            try:
                with self._busy:
                    self._closed = True
                break
            except KeyboardInterrupt:
                continue
        RENDER_THREAD.remove(self)
        self._publish()


class RenderThread:
    """The one daemon thread that services every open :class:`LiveOutput`."""

    def __init__(self) -> None:
        self._outputs: set[LiveOutput] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, output: LiveOutput) -> None:
        with self._lock:
            self._outputs.add(output)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="nbstream-live-output", daemon=True
                )
                self._thread.start()

    def remove(self, output: LiveOutput) -> None:
        with self._lock:
            self._outputs.discard(output)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        timeout: float | None = None
        while True:
            self._wake.wait(timeout)
            self._wake.clear()
            timeout = None
            with self._lock:
                outputs = list(self._outputs)
            for output in outputs:
                due = output.service()
                if due is not None:
                    timeout = due if timeout is None else min(timeout, due)


RENDER_THREAD = RenderThread()
