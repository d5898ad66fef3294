"""What a message costs on the wire, and the byte budget a live answer spends.

A live answer may put at most a fixed multiple of its final bundle on the wire (≤ 3×
where nbstream's front end or a widget host shows it, ≤ ~10× elsewhere), so every sender
— a cell's publishers (:mod:`._wire`, :mod:`._widgetwire`) and the chat's deltas
(:mod:`.chat._generation`) — measures each message before sending it, envelope included,
and spends a :class:`Budget`. A whole bundle sent through :mod:`._iopub` counts the exact
bytes sent; other messages are measured here as JSON with spaces after separators, a
little larger than the session's compact form (the estimate errs on the side of sending
less), plus one envelope (header, parent header, signature) measured on the cell's own
parent.
"""

from __future__ import annotations

import json
from typing import Any

from ._iopub import display_content

DELTA_RATIO = 1.9
"""Deltas and the first display: at most this × the current bundle (+ the final: ≤ 3×)."""
FINAL_SLACK = 200
"""Bytes by which the final bundle may be smaller than a streaming one (no id, no "●
streaming" in its three copies of the status line): taken off before the ratio."""
DEFAULT_ENVELOPE = 700
"""Bytes of a message besides its content, when the kernel's session cannot be asked."""


def content_size(content: Any) -> int:
    """Bytes of ``content`` as the kernel's JSON packer writes it."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, default=str)
    return len(text.encode("utf-8", errors="surrogatepass"))


def envelope_size() -> int:
    """Bytes a message costs besides its content, measured on this cell's real parent."""
    try:
        from IPython import get_ipython

        kernel = get_ipython().kernel
        session = kernel.session
        msg = session.msg("update_display_data", {}, parent=kernel.get_parent())
        return sum(len(frame) for frame in session.serialize(msg)) + 16
    except Exception:
        return DEFAULT_ENVELOPE


def bundle_size(
    data: dict[str, Any], metadata: dict[str, Any], display_id: str, envelope: int
) -> int:
    """Bytes of the ``update_display_data`` message that carries this bundle."""
    return envelope + content_size(display_content(data, metadata, display_id))


def comm_message_size(comm_id: str, data: Any, envelope: int) -> int:
    """Bytes of a ``comm_msg`` that carries ``data`` on the comm ``comm_id``."""
    return envelope + content_size({"comm_id": comm_id, "data": data})


def delta_budget() -> Budget:
    """The budget of one answer's deltas, a cell's or the chat's: everything sent so far
    and the next piece (and its closing) within :data:`DELTA_RATIO` × (the answer's
    current bundle − :data:`FINAL_SLACK`); with the final state, ≤ 3× at any rate."""
    return Budget(DELTA_RATIO, FINAL_SLACK)


class Budget:
    """Bytes sent so far, against ``ratio`` × (the answer's current bundle − ``slack``)."""

    def __init__(self, ratio: float, slack: int = 0) -> None:
        self.ratio = ratio
        self.slack = slack
        self.sent = 0
        self.messages = 0

    def allows(self, cost: int, bundle: int) -> bool:
        return self.sent + cost <= self.ratio * max(0, bundle - self.slack)

    def spend(self, cost: int) -> None:
        self.sent += cost
        self.messages += 1
