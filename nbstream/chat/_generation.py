"""One answer of the chat widget, generated on a worker thread.

Widget messages from the browser are only handled while no cell runs, so a Stop button
can only work if generation runs off the cell's thread. Every backend is a synchronous
generator that already honours :class:`~nbstream._types.Cancel` from another thread
(HTTP backends shut the socket, llama.cpp checks the flag every token and waits for its
model lock watching it), so one worker thread per answer is enough, for every backend.

While the answer streams, only the *new* text crosses the wire: the generating thread
just flags a change, and a :class:`~nbstream._throttle.Throttle` (the same timing the
cell output uses: at most ``max_rate`` flushes a second, a final flush always) calls
``flush``, which sends what arrived since the last flush as one ``delta`` message.

Every message costs ~0.7 KB of envelope whatever it carries, so at a slow model's pace
twenty deltas a second of a few characters each would cost 10–20× the answer. Deltas
therefore spend the same byte budget as a cell's (:func:`.._budget.delta_budget`): a
delta goes out only if everything sent for this answer so far and it fit in 1.9 × (the
answer's bundle − 200 B), else its text waits for the next flush (the final state,
the ``turns`` trait, always follows and carries it). The bundle is this answer's
:class:`~.._bundle.LiveBundle`, what a cell would show: the chat, once displayed, ends
each answer with its ``turns`` update and the transcript's display update, which
together carry the answer four times to that bundle's three, so deltas and the final
state stay within 3× the final state; and the widget's comm messages alone stay within
3× that bundle, which is what ``bench/bench_wire.py`` compares the chat to. At 50
tok/s that is about two deltas a second, at 5 tok/s one every few seconds; the first
goes at once. (The chat's own final message carries the text once: against it alone
the budget would allow one delta per ~900 characters, every ~25 s at 5 tok/s.) The
``turns`` updates at an answer's start and end carry the whole conversation and are
not in the budget; a snapshot is always sent, and counted.

A view opened mid-answer asks for the text so far (``hello``) and is sent one
``snapshot``; snapshots and deltas are sent under one lock, so a view never sees text
twice or a gap. Both are cut from the Stream's accumulated text, which is masked as it
arrives (a possible key held back), so neither ever carries a piece of a key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .. import _budget
from .._bundle import LiveBundle, status_line
from .._exceptions import NbstreamError
from .._generate import open_stream
from .._response import Response
from .._stream import Stream
from .._throttle import Throttle
from .._types import Cancel, Request

Send = Callable[[dict[str, Any]], None]

COMM_ID = "x" * 32
"""Stands for the widget's comm id (32 hex digits) when a message is measured."""


class Generation:
    """A running answer: its stream, its Stop flag and what has been sent so far."""

    def __init__(
        self,
        number: int,
        request: Request,
        send: Send,
        *,
        max_rate: float,
        record: str | None = None,
    ) -> None:
        self.number = number
        self.request = request
        self.record = record
        self.cancel = Cancel()
        self.done = threading.Event()
        self.response: Response | None = None
        self._send = send
        self._max_rate = max_rate
        self._stream: Stream | None = None
        self._lock = threading.Lock()
        self._sent_text = 0  # characters of text already sent as deltas
        self._sent_reasoning = 0
        self.messages_sent = 0
        self.bytes_text_sent = 0
        self.budget = _budget.delta_budget()
        self._envelope = _budget.envelope_size()
        self._bundle = LiveBundle()

    def answer(self) -> Response:
        """Stream the answer to its end, sending deltas (the worker thread's body); never raises."""
        throttle = Throttle(self.flush, max_rate=self._max_rate)
        try:
            # The same door as %%llm: recording and replay ($NBSTREAM_REPLAY) apply here too.
            stream = open_stream(
                self.request, cancel=self.cancel, on_chunk=throttle.changed, record=self.record
            )
        except NbstreamError as exc:
            self.response = Response(status="error", model=self.request.spec, error=exc.message)
            return self.response
        self._stream = stream
        throttle.start()
        try:
            stream.response()
        finally:
            throttle.stop()
        self.response = stream.snapshot()
        return self.response

    def flush(self) -> None:
        """Send what arrived since the last flush if the budget allows (else it waits)."""
        with self._lock:
            stream = self._stream
            if stream is None:
                return
            snapshot = stream.snapshot()
            text = snapshot.text[self._sent_text :]
            reasoning = snapshot.reasoning[self._sent_reasoning :]
            message: dict[str, Any] = {
                "type": "delta",
                "gen": self.number,
                "text": text,
                "stats": status_line(snapshot),
            }
            if reasoning:
                message["reasoning"] = reasoning
            data, metadata = self._bundle(snapshot)
            bundle = _budget.bundle_size(data, metadata, COMM_ID, self._envelope)
            if not self.budget.allows(self._cost(message), bundle):
                return
            self._sent_text += len(text)
            self._sent_reasoning += len(reasoning)
            self._emit(message)

    def send_snapshot(self) -> None:
        """Send the whole answer so far, for a view that opened mid-answer."""
        with self._lock:
            stream = self._stream
            text = reasoning = ""
            stats = f"● waiting · {self.request.spec}"
            if stream is not None:
                text = stream.accumulator.text[: self._sent_text]
                reasoning = stream.accumulator.reasoning[: self._sent_reasoning]
                stats = status_line(stream.snapshot())
            self._emit(
                {
                    "type": "snapshot",
                    "gen": self.number,
                    "text": text,
                    "reasoning": reasoning,
                    "stats": stats,
                }
            )

    def _cost(self, message: dict[str, Any]) -> int:
        """Bytes of ``message`` on the wire: a widget's custom message in a ``comm_msg``."""
        data = {"method": "custom", "content": message}  # what ipywidgets' Widget.send wraps
        return _budget.comm_message_size(COMM_ID, data, self._envelope)

    def _emit(self, message: dict[str, Any]) -> None:
        """Send ``message`` (a snapshot always: a new view needs it) and count its bytes."""
        self.budget.spend(self._cost(message))
        self.messages_sent += 1
        self.bytes_text_sent += len(message["text"].encode("utf-8"))
        self._send(message)
