"""The chat's answer loop: its deltas are timed by a Throttle that calls it directly.

The scheduler is serviced by hand (``Scheduler(background=False)``), so the test decides
when a flush happens and nothing sleeps. The end-to-end behaviour (deltas, the snapshot
for a view opened mid-answer, Stop) is in ``test_widget.py``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from nbstream import _throttle
from nbstream._stream import Stream
from nbstream._throttle import Scheduler, Throttle
from nbstream._types import Cancel, Chunk, Request
from nbstream.chat import _generation
from nbstream.chat._generation import Generation

REQUEST = Request(backend="fake", model="m")


def test_the_chat_flushes_its_deltas_through_a_throttle_with_no_publisher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduler = Scheduler(background=False)
    monkeypatch.setattr(_throttle, "SCHEDULER", scheduler)
    throttles: list[Throttle] = []

    class Backend:
        def stream(self, request: Request, cancel: Cancel) -> Generator[Chunk, None, None]:
            yield Chunk(text="ab")
            throttles.extend(scheduler._throttles)
            scheduler.service()  # the scheduler's thread, by hand: the first delta goes at once
            yield Chunk(text="cd")
            yield Chunk(text="e")

    def open_stream(request: Request, **options: Any) -> Stream:
        return Stream(Backend(), request, cancel=options["cancel"], on_chunk=options["on_chunk"])

    monkeypatch.setattr(_generation, "open_stream", open_stream)
    sent: list[dict[str, Any]] = []
    generation = Generation(1, REQUEST, sent.append, max_rate=20)
    response = generation.answer()

    (throttle,) = throttles
    assert throttle._flush == generation.flush  # the throttle calls the chat itself
    assert [m["type"] for m in sent] == ["delta", "delta"]
    assert [m["text"] for m in sent] == ["ab", "cde"]  # then coalesced into the final flush
    assert response.text == "abcde" and response.status == "done"
    assert not scheduler._throttles  # stopped and removed
