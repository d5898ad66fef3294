"""Updating a display straight on IOPub: the bundle serialized once, no round trip per update.

IPython's ``update_display()`` goes through ipykernel's display publisher, which does two
things a live answer pays for on every update and does not need:

- it flushes ``sys.stdout`` and ``sys.stderr`` first (``_flush_streams``): two round
  trips to the IOPub thread, even when nothing was printed. That keeps a *new* display
  after the text printed before it; an update changes a display already in place, so
  nothing can be reordered by skipping it. A *new* display (the answer's first) skips
  it only when nothing printed is waiting in either stream (:func:`streams_idle`):
  then the flush has nothing to send and is only a wait — 1.1–1.6 ms on the cell's
  own thread before the model starts, measured in a real kernel (two round trips of
  ~0.6 ms) — and otherwise it goes through IPython, flush and all.
- it serializes the content, which the sparse publisher (:mod:`._wire`) has just
  serialized too, to know the message's size against its byte budget.

Measured in a real kernel (2,000 tiny-model tokens, ~11 updates a cell): an update cost
0.79 ms of CPU on the render thread, 0.23 ms of it the flush and ~0.14 ms the second
serialization; the render thread holds the GIL the token loop needs for part of that.
So :func:`packer` offers, only where it is exactly what IPython would do otherwise —
ipykernel's own ZMQ display publisher, no display hooks on this thread, no display
history kept — the content packed once by the kernel's session (the bytes whose length
the budget counts are the bytes sent) and a send of those bytes with the parent header
of the cell this thread runs for. Anywhere else (``%%capture``, a terminal, tests) it
returns None and updates go through IPython as before.
"""

from __future__ import annotations

import sys
from typing import Any


class Packer:
    """Packs ``update_display_data`` content with the kernel's session and sends it."""

    def __init__(self, display_pub: Any) -> None:
        self._pub = display_pub

    def pack(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> bytes | None:
        """The content as the session sends it; None if this thread has display hooks
        (ipykernel keeps them per thread), which only IPython's route runs."""
        if self._pub._hooks:
            return None
        return bytes(self._pub.session.pack(display_content(data, metadata, display_id)))

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> bool:
        """Send a new display (``display_data``) as IPython would, if it needs no flush
        and no hook; False (nothing sent) otherwise, and IPython's route must send it."""
        if self._pub._hooks or not streams_idle():
            return False
        self._send("display_data", display_content(data, metadata, display_id))
        return True

    def send(self, packed: bytes) -> None:
        # bytes: sent as they are (jupyter_client: "already packed")
        self._send("update_display_data", packed)

    def _send(self, msg_type: str, content: dict[str, Any] | bytes) -> None:
        """Send on IOPub as the display publisher does: its socket, topic and parent."""
        pub = self._pub
        pub.session.send(
            pub.pub_socket, msg_type, content=content, parent=pub.parent_header, ident=pub.topic
        )


def display_content(
    data: dict[str, Any], metadata: dict[str, Any], display_id: str
) -> dict[str, Any]:
    """A display message's content, as IPython's display publisher makes it (the budget's
    size of a bundle, :func:`._budget.bundle_size`, measures this too)."""
    return {"data": data, "metadata": metadata, "transient": {"display_id": display_id}}


def packer() -> Packer | None:
    """A :class:`Packer` for this kernel, or None where IPython must send updates itself."""
    try:
        from ipykernel.zmqshell import ZMQDisplayPublisher
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    pub = getattr(shell, "display_pub", None)
    if type(pub) is not ZMQDisplayPublisher:  # %%capture swaps in its own publisher
        return None
    if getattr(pub, "store_display_history", False):
        return None
    if getattr(pub, "session", None) is None or getattr(pub, "pub_socket", None) is None:
        return None
    return Packer(pub)


def streams_idle() -> bool:
    """Whether ``sys.stdout`` and ``sys.stderr`` are ipykernel's streams with nothing
    printed waiting in them: a flush before a new display would then send nothing.

    Text printed from here on, by any thread, is as unordered against the display as it
    is when IPython flushes first (the flush only sends what was already written).
    """
    try:
        from ipykernel.iostream import OutStream
    except ImportError:
        return False
    for stream in (sys.stdout, sys.stderr):
        buffers = getattr(stream, "_buffers", None)
        if type(stream) is not OutStream or not isinstance(buffers, dict):
            return False
        if any(buffer.tell() for buffer in list(buffers.values())):
            return False
    return True
