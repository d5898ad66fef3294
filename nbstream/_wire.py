"""What a live cell sends: deltas where nbstream's front end listens, sparse bundles elsewhere.

A live answer's bundle (:mod:`._bundle`) carries the whole text three times (Markdown,
plain text, the nbstream payload); resending it ~20 times a second costs O(n²): 2,000
tokens at 50 tok/s put ~400× the final bundle on the wire. Both publishers here wrap the
ordinary display publisher, take the same bundles from :class:`~._live.LiveOutput`,
and spend a byte budget that grows with the answer, so the total stays within a fixed
multiple of the final bundle at any length and any token rate:

- :class:`DeltaPublisher` (an nbstream front end said hello, :mod:`._channel`): the first
  display is the ordinary bundle plus the answer's id (``"stream"`` in the payload);
  then only the new text with its offset, a sequence number and the status line, on a
  comm opened for this answer (the first piece rides in the comm's opening). A piece
  goes out when everything sent so far, it and the comm's closing fit in
  :data:`DELTA_RATIO` × (the current bundle − :data:`FINAL_SLACK`); the final bundle is
  at least that, so with it the total is ≤ 3× at any rate and length, also if the answer
  ends right now. Every message costs ~0.6 KB of envelope (header, parent header,
  signature) whatever it carries, so the budget sets the pace below 20 a second: about
  one piece per ~100 characters of answer — at 50 tok/s two a second, at 5 tok/s one
  every ~4 s (a slow model's text arrives in lines, not words). No piece is sent for
  the status line alone. Made while a hello may still come (a *Run All*: the subshell
  hello is on its way), it starts with whole bundles that name the answer, as sparse as
  the fallback's, and switches to deltas from the last one's text when the hello is
  there; if none comes in time it goes on as a :class:`SparsePublisher`.

  The chat (:mod:`.chat._generation`) spends the same budget, :func:`._budget.delta_budget`, for
  its deltas: its custom messages against :func:`._budget.bundle_size` of the answer's bundle as
  a cell would show it (see there why that, not the chat's own final message).
- In a widget host without the extension (VS Code, Colab, ipywidgets only), the same
  deltas travel on a small widget per answer, under the same budget (:mod:`._widgetwire`).
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

from collections.abc import Callable
from typing import Any

from . import _channel
from ._budget import (
    DEFAULT_ENVELOPE,
    DELTA_RATIO,
    Budget,
    bundle_size,
    comm_message_size,
    content_size,
    delta_budget,
    envelope_size,
)
from ._bundle import MIME_TYPE
from ._live import IPythonPublisher, Publisher

SPARSE_RATIO = 8.0
"""Sparse updates and the first display: at most this × the current bundle (+ final)."""


def live_publisher() -> DeltaPublisher | SparsePublisher:
    """The publisher for a live cell: deltas if a front end said hello (or may), else sparse."""
    _channel.invite()
    if _channel.present():
        return DeltaPublisher(IPythonPublisher())
    if _channel.awaiting_hello():
        return DeltaPublisher(IPythonPublisher(), waiting=True)
    return SparsePublisher(IPythonPublisher())


def finish(publisher: object) -> None:
    """Send the final bundle if ``publisher`` holds one back (any publisher may be given)."""
    done = getattr(publisher, "finish", None)
    if done is not None:
        done()


def _streaming(data: dict[str, Any]) -> bool:
    payload = data.get(MIME_TYPE)
    return isinstance(payload, dict) and payload.get("status") == "streaming"


class SparsePublisher:
    """Whole bundles, as many as fit in :data:`SPARSE_RATIO` × the current one; then the final."""

    def __init__(self, inner: Publisher, ratio: float = SPARSE_RATIO) -> None:
        self._inner = inner
        self.budget = Budget(ratio)
        self._envelope = DEFAULT_ENVELOPE
        self._latest: tuple[dict[str, Any], dict[str, Any], str] | None = None

    def bundle_size(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> int:
        return bundle_size(data, metadata, display_id, self._envelope)

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self._envelope = envelope_size()
        self._inner.show(data, metadata, display_id)
        self.budget.spend(self.bundle_size(data, metadata, display_id))

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self._latest = (data, metadata, display_id)
        if not _streaming(data):
            return  # the final state: finish() sends it, once
        self._send_whole(data, metadata, display_id, lambda size: self.budget.allows(size, size))

    def _send_whole(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any],
        display_id: str,
        fits: Callable[[int], bool],
    ) -> bool:
        """Send the whole bundle as an update if ``fits`` its size; spend it, hold nothing."""
        size, send = self._prepare(data, metadata, display_id)
        if not fits(size):
            return False
        send()
        self.budget.spend(size)
        self._latest = None
        return True

    def _prepare(
        self, data: dict[str, Any], metadata: dict[str, Any], display_id: str
    ) -> tuple[int, Callable[[], None]]:
        """The update's size on the wire, and how to send it: packed once where the
        publisher can (:mod:`._iopub`; the bytes measured are the bytes sent), else
        measured here and sent by the publisher."""
        pack = getattr(self._inner, "pack", None)
        packed = pack(data, metadata, display_id) if pack is not None else None
        if packed is not None:
            send_packed = self._inner.send_packed  # type: ignore[attr-defined]
            return self._envelope + len(packed), lambda: send_packed(packed)
        size = self.bundle_size(data, metadata, display_id)
        return size, lambda: self._inner.update(data, metadata, display_id)

    def finish(self) -> None:
        """Send the newest bundle if it was held back (the final one always is)."""
        latest, self._latest = self._latest, None
        if latest is not None:
            size, send = self._prepare(*latest)
            send()
            self.budget.spend(size)


class DeltaPublisher(SparsePublisher):
    """The first bundle with the answer's id, then deltas on the answer's comm; then the final.

    Made while a hello may still come (``waiting``, :func:`._channel.awaiting_hello`),
    it starts with whole bundles that name the answer, as sparse as the fallback's
    (a hello may never come, and a stalled answer must show what arrived),
    and switches to deltas from the text of the last one sent as soon as the hello
    is there; if none comes in time, it carries on as a :class:`SparsePublisher`.
    """

    def __init__(
        self, inner: Publisher, ratio: float = DELTA_RATIO, *, waiting: bool = False
    ) -> None:
        super().__init__(inner, ratio)
        self.budget = delta_budget()
        self.budget.ratio = ratio
        self._mode = "waiting" if waiting else "deltas"
        self._comm: Any = None
        self._seq = 0
        self._text = ""
        self._text_units = 0  # UTF-16 code units: what the browser's string offsets count
        self._reasoning = ""
        self._reasoning_units = 0

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        super().show(_named(data, display_id), metadata, display_id)
        self._seed(data)

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self._latest = (data, metadata, display_id)
        if not _streaming(data):
            return  # the final state: finish() sends it, once
        if self._mode == "waiting":
            if _channel.present():
                self._mode = "deltas"
            elif not _channel.awaiting_hello():
                self._mode = "sparse"
                self.budget.ratio, self.budget.slack = SPARSE_RATIO, 0
        if self._mode == "deltas":
            self._send_delta(data, metadata, display_id)
            return
        named = _named(data, display_id) if self._mode == "waiting" else data
        # While waiting, whole bundles go out as the fallback's would (SPARSE_RATIO): a
        # hello may never come (nbclient, a terminal), and a stalled answer must still
        # show what arrived. A subshell hello comes within milliseconds, so in a Run All
        # this costs the first display or two; the deltas then wait for the budget.
        if self._send_whole(
            named, metadata, display_id, lambda size: self.budget.sent + size <= SPARSE_RATIO * size
        ):
            self._seed(data)  # what the browser holds: deltas after a hello start here

    def _seed(self, data: dict[str, Any]) -> None:
        payload = data.get(MIME_TYPE)
        if isinstance(payload, dict):
            self._text = str(payload.get("text") or "")
            self._text_units = _units(self._text)
            self._reasoning = str(payload.get("reasoning") or "")
            self._reasoning_units = _units(self._reasoning)

    def _send_delta(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        payload = data.get(MIME_TYPE)
        if not isinstance(payload, dict):
            return
        delta = self._delta(payload)
        if self._comm is None:
            # The first delta rides in the comm's opening; its closing is paid for now.
            opening = {"kind": "answer", "id": display_id, "version": 1, **delta}
            content = {
                "data": opening,
                "comm_id": "x" * 32,
                "target_name": _channel.TARGET,
                "target_module": None,
            }
            closing = {"data": {}, "comm_id": "x" * 32}
            cost = 2 * self._envelope + content_size(content) + content_size(closing)
        else:
            cost = comm_message_size(self._comm.comm_id, delta, self._envelope)
        if not self.budget.allows(cost, self.bundle_size(data, metadata, display_id)):
            return
        if self._comm is None:
            self._comm = _channel.open_comm(opening)
            if self._comm is None:  # no comm after all: whole bundles, sparsely
                self._mode = "sparse"
                self.budget.ratio, self.budget.slack = SPARSE_RATIO, 0
                return
        else:
            self._comm.send(delta)
        self.budget.spend(cost)
        self._sent(payload, delta)

    def _sent(self, payload: dict[str, Any], delta: dict[str, Any]) -> None:
        """The browser now holds ``payload``'s text: ``delta`` brought it there."""
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
        super().finish()
        comm, self._comm = self._comm, None
        if comm is not None:
            comm.close()


def _named(data: dict[str, Any], display_id: str) -> dict[str, Any]:
    """``data`` whose payload names its answer (``stream``), so the browser follows it."""
    payload = data.get(MIME_TYPE)
    if not isinstance(payload, dict):
        return data
    return {**data, MIME_TYPE: {**payload, "stream": display_id}}


def _units(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (JavaScript's ``string.length``)."""
    # Encoded in C: counting astral characters in Python took ~0.3 ms per update at
    # 2,000 tokens, on the render thread, holding the GIL the token loop needs.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
