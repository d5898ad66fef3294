"""What a live cell sends: deltas where nbstream's front end listens, sparse bundles elsewhere.

A live answer's bundle (:mod:`._bundle`) carries the whole text three times (Markdown,
plain text, the nbstream payload); resending it ~20 times a second costs O(n²): 2,000
tokens at 50 tok/s put ~400× the final bundle on the wire. Both publishers here wrap the
ordinary display publisher, take the same bundles from :class:`~._live.LiveOutput`,
and spend a byte budget that grows with the answer, so the total stays within a fixed
multiple of the final bundle at any length and any token rate:

- :class:`DeltaPublisher` (an nbstream front end said hello, :mod:`._channel`): the first
  display is the ordinary bundle plus the answer's id (``"stream"`` in the payload);
  then, on a comm opened for this answer, only the new text with its offset, a sequence
  number and the status line. A delta goes out when everything sent so far plus it fits in
  :data:`DELTA_RATIO` × the current bundle's size, so with the final bundle the total
  is ≤ 3×. Every message costs ~0.5 KB of envelope (header, parent header, signature),
  so at a slow token rate deltas are fewer than 20 a second: about one per 100
  characters of answer, but never less than one a second while text arrives
  (:data:`MIN_GAP`): below ~25 tok/s that floor, not the budget, sets the pace, and the
  total can exceed 3× (≤ ~0.7 KB a second; a slow model would otherwise show a new line
  only every few seconds).
- :class:`SparsePublisher` (no front end known): whole bundles, each sent when
  everything sent so far plus it fits in :data:`SPARSE_RATIO` × its own size. The gap
  between updates grows with the answer (each one ~1/8 larger than the one before), so
  the total is ≤ 9× the final bundle plus the final one.

The final bundle is always sent whole, exactly as :func:`._bundle.build` makes it (no
id), by ``finish()`` after the live output stops: it is what the saved notebook holds,
what nbval, GitHub and nbconvert see, and what replaces every view's state. Nothing here
runs on the token loop: publishers are called by the render thread at most ~20 times a
second.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import _channel
from ._bundle import MIME_TYPE
from ._live import IPythonPublisher, Publisher

DELTA_RATIO = 1.75
"""Deltas and the first display: at most this × the current bundle (+ the final: ≤ 3×)."""
SPARSE_RATIO = 8.0
"""Sparse updates and the first display: at most this × the current bundle (+ final)."""
MIN_GAP = 1.0
"""Seconds: a delta with new text is sent after this long even over budget (slow models)."""
DEFAULT_ENVELOPE = 700
"""Bytes of a message besides its content, when the kernel's session cannot be asked."""


def live_publisher() -> DeltaPublisher | SparsePublisher:
    """The publisher for a live cell: deltas if a front end said hello, else sparse."""
    _channel.invite()
    if _channel.present():
        return DeltaPublisher(IPythonPublisher())
    return SparsePublisher(IPythonPublisher())


def finish(publisher: object) -> None:
    """Send the final bundle if ``publisher`` holds one back (any publisher may be given)."""
    done = getattr(publisher, "finish", None)
    if done is not None:
        done()


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


def _streaming(data: dict[str, Any]) -> bool:
    payload = data.get(MIME_TYPE)
    return isinstance(payload, dict) and payload.get("status") == "streaming"


class Budget:
    """Bytes sent so far, against ``ratio`` × the size of the answer's current bundle."""

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self.sent = 0
        self.messages = 0

    def allows(self, cost: int, bundle: int) -> bool:
        return self.sent + cost <= self.ratio * bundle

    def spend(self, cost: int) -> None:
        self.sent += cost
        self.messages += 1


class SparsePublisher:
    """Whole bundles, as many as fit in :data:`SPARSE_RATIO` × the current one; then the final."""

    def __init__(self, inner: Publisher, ratio: float = SPARSE_RATIO) -> None:
        self._inner = inner
        self.budget = Budget(ratio)
        self._envelope = DEFAULT_ENVELOPE
        self._latest: tuple[dict[str, Any], dict[str, Any], str] | None = None

    def bundle_size(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> int:
        content = {"data": data, "metadata": metadata, "transient": {"display_id": display_id}}
        return self._envelope + content_size(content)

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self._envelope = envelope_size()
        self._inner.show(data, metadata, display_id)
        self.budget.spend(self.bundle_size(data, metadata, display_id))

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self._latest = (data, metadata, display_id)
        if not _streaming(data):
            return  # the final state: finish() sends it, once
        size = self.bundle_size(data, metadata, display_id)
        if self.budget.allows(size, size):
            self._inner.update(data, metadata, display_id)
            self.budget.spend(size)
            self._latest = None

    def finish(self) -> None:
        """Send the newest bundle if it was held back (the final one always is)."""
        latest, self._latest = self._latest, None
        if latest is not None:
            self._inner.update(*latest)
            self.budget.spend(self.bundle_size(*latest))


class DeltaPublisher(SparsePublisher):
    """The first bundle with the answer's id, then deltas on the answer's comm; then the final."""

    def __init__(self, inner: Publisher, ratio: float = DELTA_RATIO) -> None:
        super().__init__(inner, SPARSE_RATIO)
        self.delta_budget = Budget(ratio)
        self._comm: Any = None
        self._seq = 0
        self._text = ""
        self._text_units = 0  # UTF-16 code units: what the browser's string offsets count
        self._reasoning = ""
        self._reasoning_units = 0
        self._last_sent = time.monotonic()

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        payload = data.get(MIME_TYPE)
        if isinstance(payload, dict):
            data = {**data, MIME_TYPE: {**payload, "stream": display_id}}
        super().show(data, metadata, display_id)
        self.delta_budget.spend(self.budget.sent)
        self._comm = _channel.open_comm({"kind": "answer", "id": display_id, "version": 1})
        if self._comm is not None:
            # Its comm_open, and the comm_close finish() sends.
            opened = {"comm_id": "x" * 32, "target_name": _channel.TARGET, "data": {}}
            self.delta_budget.spend(2 * (self._envelope + content_size(opened) + 60))
        if isinstance(payload, dict):
            self._text = str(payload.get("text") or "")
            self._text_units = _units(self._text)
            self._reasoning = str(payload.get("reasoning") or "")
            self._reasoning_units = _units(self._reasoning)

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        if self._comm is None:  # no comm after all: whole bundles, sparsely
            super().update(data, metadata, display_id)
            return
        self._latest = (data, metadata, display_id)
        payload = data.get(MIME_TYPE)
        if not _streaming(data) or not isinstance(payload, dict):
            return
        delta = self._delta(payload)
        cost = self._envelope + content_size({"comm_id": self._comm.comm_id, "data": delta})
        within = self.delta_budget.allows(cost, self.bundle_size(data, metadata, display_id))
        if not within and time.monotonic() - self._last_sent < MIN_GAP:
            return
        self._comm.send(delta)
        self._last_sent = time.monotonic()
        self.delta_budget.spend(cost)
        self._seq += 1
        self._text = str(payload.get("text") or "")
        self._text_units = delta["at"] + _units(delta["text"])
        if "reasoning" in delta:
            self._reasoning = str(payload.get("reasoning") or "")
            self._reasoning_units = delta["r_at"] + _units(delta["reasoning"])

    def _delta(self, payload: dict[str, Any]) -> dict[str, Any]:
        text = str(payload.get("text") or "")
        at, new = (
            (self._text_units, text[len(self._text) :])
            if text.startswith(self._text)
            else (0, text)
        )
        delta: dict[str, Any] = {
            "seq": self._seq + 1,
            "at": at,
            "text": new,
            "status_line": payload.get("status_line"),
        }
        reasoning = str(payload.get("reasoning") or "")
        if reasoning != self._reasoning:
            r_at, r_new = (
                (self._reasoning_units, reasoning[len(self._reasoning) :])
                if reasoning.startswith(self._reasoning)
                else (0, reasoning)
            )
            delta["r_at"] = r_at
            delta["reasoning"] = r_new
        return delta

    def finish(self) -> None:
        """The final bundle, whole (always), then the answer's comm is closed."""
        if self._comm is None:
            super().finish()
            return
        latest, self._latest = self._latest, None
        if latest is not None:
            self._inner.update(*latest)
            cost = self.bundle_size(*latest)
            self.budget.spend(cost)
            self.delta_budget.spend(cost)
        comm, self._comm = self._comm, None
        comm.close()


def _units(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (JavaScript's ``string.length``)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
