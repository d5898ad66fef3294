"""``LiveOutput``: one display, then coalesced updates, and always a final one.

Jupyter drops (does not queue) IOPub messages above ~1,000/s, and every
``update_display_data`` carries the whole answer again, so sending one per token is
both O(n²) and lossy. Here the generating thread only flags "something changed"
(``changed()``: one ``Event.is_set`` check); a separate render thread wakes on the flag,
waits out the minimum interval, renders the current state once and publishes it. The
token loop never builds or serializes a message, which keeps the in-kernel model at full
speed. ``stop()`` joins the render thread and then publishes the final state from the
caller's thread, so the last message sent is always the final one.

The render thread runs inside a copy of the caller's ``contextvars`` context, which is
where ipykernel keeps the cell's parent header: its updates are routed to the cell that
started them, not to whichever cell runs next.
"""

from __future__ import annotations

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
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = 0.0

    def start(self) -> None:
        data, metadata = self._render()
        self._publisher.show(data, metadata, self.display_id)
        # The first text goes out at once; the interval applies between updates.
        self._last = float("-inf")
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._loop,), name="nbstream-live-output", daemon=True
        )
        self._thread.start()

    def changed(self) -> None:
        """Cheap: called for every chunk by the generating thread (an attribute test)."""
        if not self._dirty:
            self._dirty = True
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            if self._closing.is_set():
                return
            wait = self._last + self._interval - self._clock()
            if wait > 0 and self._closing.wait(wait):
                return
            # Clear before rendering: a change made while we render triggers the next one.
            self._wake.clear()
            self._dirty = False
            try:
                self._publish()
            except Exception:
                # A failed interim update must not kill the stream; the final one retries.
                continue

    def _publish(self) -> None:
        data, metadata = self._render()
        self._publisher.update(data, metadata, self.display_id)
        self.updates += 1
        self._last = self._clock()

    def stop(self) -> None:
        """Stop the render thread, then publish the final state (always)."""
        self._closing.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            # Retry the join: a second Ctrl-C must not leave the thread publishing after us.
            while thread.is_alive():
                try:
                    thread.join()
                except KeyboardInterrupt:
                    continue
        self._publish()
