"""One answer of the chat widget, generated on a worker thread.

Widget messages from the browser are only handled while no cell runs, so a Stop button
can only work if generation runs off the cell's thread. Every backend is a synchronous
generator that already honours :class:`~nbstream._types.Cancel` from another thread
(HTTP backends shut the socket, llama.cpp checks the flag every token and waits for its
model lock watching it), so one worker thread per answer is enough, for every backend.

While the answer streams, only the *new* text crosses the wire: the generating thread
just flags a change, and a :class:`~nbstream._throttle.Throttle` (the same timing the
cell output uses: at most ``max_rate`` flushes a second, a final flush always) calls
``flush``, which sends what arrived since the last flush as one ``delta`` message. Total
bytes are O(n) in the answer's length, whatever the token rate. A view opened mid-answer
asks for the text so far (``hello``) and is sent one ``snapshot``; snapshots and deltas
are sent under one lock, so a view never sees text twice or a gap. Both are cut from the
Stream's accumulated text, which is masked as it arrives (a possible key held back), so
neither ever carries a piece of a key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._bundle import status_line
from .._exceptions import NbstreamError
from .._generate import open_stream
from .._response import Response
from .._stream import Stream
from .._throttle import Throttle
from .._types import Cancel, Request

Send = Callable[[dict[str, Any]], None]


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
        """Send what arrived since the last flush (nothing if nothing did)."""
        with self._lock:
            stream = self._stream
            if stream is None:
                return
            snapshot = stream.snapshot()
            text = snapshot.text[self._sent_text :]
            reasoning = snapshot.reasoning[self._sent_reasoning :]
            self._sent_text += len(text)
            self._sent_reasoning += len(reasoning)
            message: dict[str, Any] = {
                "type": "delta",
                "gen": self.number,
                "text": text,
                "stats": status_line(snapshot),
            }
            if reasoning:
                message["reasoning"] = reasoning
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

    def _emit(self, message: dict[str, Any]) -> None:
        self.messages_sent += 1
        self.bytes_text_sent += len(message["text"].encode("utf-8"))
        self._send(message)
