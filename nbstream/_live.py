"""``LiveOutput``: one display, then coalesced updates, and always a final one.

Jupyter drops (does not queue) IOPub messages above ~1,000/s, and every
``update_display_data`` carries the whole answer again, so sending one per token is
both O(n²) and lossy. A :class:`~nbstream._throttle.Throttle` decides when to re-render
(at most ``max_rate`` times a second, the first at once, the final state always, routed
to the cell that started it); this module only decides what a display shows and through
which :class:`Publisher` it goes.

An instant replay has no live phase (``live=False``): nothing is shown until ``stop()``,
whose final bundle is the first and only display. That is what a saved notebook holds
and what nbval (which ignores ``update_display_data``) compares.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from ._iopub import Packer, packer
from ._throttle import Throttle

Bundle = tuple[dict[str, Any], dict[str, Any]]


class Publisher(Protocol):
    """Where bundles go: IPython's display machinery, or a list in tests."""

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None: ...

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None: ...


class IPythonPublisher:
    """Publishes through IPython's display (``display_data`` then ``update_display_data``).

    Updates can also be packed once and sent straight to IOPub (:mod:`._iopub`):
    :meth:`pack` gives the bytes (their length is what a byte budget counts) or None
    where IPython must send them itself, and :meth:`send_packed` sends them. The first
    display goes straight too when nothing printed waits to be flushed before it.
    """

    def __init__(self) -> None:
        self._packer: Packer | None = None
        self._looked = False

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        packer = self._direct()
        if packer is not None and packer.show(data, metadata, display_id):
            return
        from IPython.display import display

        display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        packed = self.pack(data, metadata, display_id)
        if packed is not None:
            self.send_packed(packed)
            return
        from IPython.display import update_display

        update_display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def pack(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> bytes | None:
        """The update's content as the kernel sends it, or None (IPython's route)."""
        direct = self._direct()
        return direct.pack(data, metadata, display_id) if direct is not None else None

    def _direct(self) -> Packer | None:
        """The kernel's packer (looked up once), or None where IPython must send."""
        if not self._looked:
            self._packer, self._looked = packer(), True
        return self._packer

    def send_packed(self, packed: bytes) -> None:
        """Send what :meth:`pack` returned, as an ``update_display_data``."""
        assert self._packer is not None
        self._packer.send(packed)


class LiveOutput:
    """Shows ``render()`` once, re-renders at most ``max_rate`` times a second, then finally.

    With ``live=False`` only the final bundle is shown, once, at ``stop()``.
    """

    def __init__(
        self,
        render: Callable[[], Bundle],
        publisher: Publisher | None = None,
        *,
        max_rate: float = 20.0,
        live: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self._publisher: Publisher = publisher or IPythonPublisher()
        self.display_id = uuid.uuid4().hex
        self._throttle = Throttle(self._update, max_rate=max_rate, clock=clock) if live else None
        # Called by the generating thread for every chunk: bound once, so a token costs
        # the throttle's attribute test and nothing more (and nothing at all when not live).
        self.changed: Callable[[], None] = (
            self._throttle.changed if self._throttle is not None else _unchanged
        )

    @property
    def updates(self) -> int:
        """Update messages sent, the final one included."""
        return self._throttle.flushes if self._throttle is not None else 0

    def start(self) -> None:
        if self._throttle is None:
            return
        data, metadata = self._render()
        self._publisher.show(data, metadata, self.display_id)
        self._throttle.start()

    def _update(self) -> None:
        data, metadata = self._render()
        self._publisher.update(data, metadata, self.display_id)

    def stop(self) -> None:
        """Stop interim updates, then publish the final state (always)."""
        if self._throttle is None:
            data, metadata = self._render()
            self._publisher.show(data, metadata, self.display_id)
            return
        self._throttle.stop()


def _unchanged() -> None:
    """Nothing is shown before the end, so a change needs no note."""
