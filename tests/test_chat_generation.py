"""The chat's answer loop: its deltas are timed by a Throttle that calls it directly.

The scheduler is serviced by hand (``Scheduler(background=False)``), so the test decides
when a flush happens and nothing sleeps. The end-to-end behaviour (deltas, the snapshot
for a view opened mid-answer, Stop) is in ``test_widget.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from jupyter_client.session import Session

import nbstream
from nbstream import _throttle, _wire
from nbstream._bundle import build
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


# -- the byte budget: the same rule as a cell's deltas ------------------------------------

SESSION = Session(key=b"test")


class CountingComm(BaseComm):
    """Serializes each ``comm_msg`` as the kernel would (``bench/bench_wire.py``'s count)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sizes: list[int] = []
        self.published: list[Any] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, **_: Any) -> None:
        if msg_type != "comm_msg":
            return
        msg = SESSION.msg(msg_type, {"comm_id": self.comm_id, "data": data}, metadata=metadata)
        self.sizes.append(sum(len(frame) for frame in SESSION.serialize(msg)))
        self.published.append(data)


def final_bundle_size(response: Any) -> int:
    """The answer's final bundle as a cell sends it: what bench_wire's × divides by."""
    data, metadata = build(response)
    content = {"data": data, "metadata": metadata, "transient": {"display_id": "x" * 32}}
    msg = SESSION.msg("update_display_data", content)
    return sum(len(frame) for frame in SESSION.serialize(msg))


@pytest.mark.parametrize(
    ("per_second", "tokens"),
    [(5, 500), (5, 8_000), (10, 2_000), (50, 500), (50, 2_000), (500, 8_000), (5, 20)],
)
def test_chat_bytes_per_answer_stay_within_three_times_its_bundle_at_any_rate(
    monkeypatch: pytest.MonkeyPatch, per_second: float, tokens: int
) -> None:
    """Tokens at ``per_second`` on a fake clock; the throttle times flushes as it would.

    Before the budget the chat sent a delta per flush: 12-21x at 50 tok/s and below.
    """
    monkeypatch.setattr(comm, "create_comm", CountingComm)
    # The envelope as this session makes it (in a kernel: measured on the kernel's session).
    envelope = sum(len(f) for f in SESSION.serialize(SESSION.msg("comm_msg", {}))) + 16
    monkeypatch.setattr(_wire, "envelope_size", lambda: envelope)
    scheduler = Scheduler(background=False)
    monkeypatch.setattr(_throttle, "SCHEDULER", scheduler)
    now = [0.0]
    monkeypatch.setattr(_generation, "Throttle", functools.partial(Throttle, clock=lambda: now[0]))
    words = [f"word{i % 97} " for i in range(tokens)]
    first_delta_at: list[float] = []

    class Backend:
        def stream(self, request: Request, cancel: Cancel) -> Generator[Chunk, None, None]:
            for word in words:
                yield Chunk(text=word)
                now[0] += 1 / per_second
                scheduler.service()  # the scheduler's thread, by hand, at the fake time
                if not first_delta_at and custom(chat, "delta"):
                    first_delta_at.append(now[0])

    def open_stream(request: Request, **options: Any) -> Stream:
        return Stream(Backend(), request, cancel=options["cancel"], on_chunk=options["on_chunk"])

    monkeypatch.setattr(_generation, "open_stream", open_stream)
    chat = nbstream.chat("openai:m")
    wire: CountingComm = chat.widget.comm
    wire.sizes.clear()
    wire.published.clear()
    chat.send("Hello world")
    response = chat.wait(60)
    assert response is not None and response.text == "".join(words)

    sent, final = sum(wire.sizes), final_bundle_size(response)
    assert sent <= 3 * final, f"{sent:,} B, {sent / final:.2f}x the final bundle"
    deltas = custom(chat, "delta")
    assert len(deltas) <= now[0] * 20 + 2  # at most ~20 messages a second
    assert first_delta_at and first_delta_at[0] <= 1.0  # the first text within ~1 s
    assert response.text.startswith("".join(d["text"] for d in deltas))  # no gap, no repeat
    assert chat.widget.turns[-1]["content"] == response.text  # the final state, always
    # The same rule as a cell's: deltas within 1.9 x (the bundle - 200 B), envelopes counted.
    assert chat._running is None and sent - wire.sizes[0] - wire.sizes[-1] <= 1.9 * (final - 200)


def custom(chat: Any, kind: str) -> list[dict[str, Any]]:
    sent = chat.widget.comm.published
    found = [d["content"] for d in list(sent) if d.get("method") == "custom"]
    return [m for m in found if m["type"] == kind]
