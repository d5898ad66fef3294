"""``show_live`` reports how a live run ended; only the entry points raise.

The outcome carries the answer (partial when cut short) and the error that ending calls
for, and that error carries the same answer, however the run ended.
"""

from __future__ import annotations

from typing import Any

import pytest

from nbstream._exceptions import Interrupted
from nbstream._generate import show_live
from nbstream._types import Cancel, Chunk, Request
from nbstream.recording import _route

from .fakes import Boom, ListBackend, text_chunks

REQUEST = Request(backend="fake", model="m")


class ListPublisher:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self.kinds.append("show")

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self.kinds.append("update")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> list[ListBackend]:
    """The backend ``show_live`` opens: set ``backend[0]`` in the test."""
    monkeypatch.delenv("NBSTREAM_REPLAY", raising=False)
    monkeypatch.delenv("NBSTREAM_RECORD", raising=False)
    chosen: list[ListBackend] = []
    monkeypatch.setattr(_route, "get_backend", lambda name: chosen[0])
    return chosen


def test_a_finished_run_has_the_response_and_nothing_to_raise(
    backend: list[ListBackend],
) -> None:
    backend.append(ListBackend([*text_chunks("abc"), Chunk(finish_reason="stop")]))
    publisher = ListPublisher()
    outcome = show_live(REQUEST, publisher=publisher)
    assert outcome.ending == "done" and outcome.error is None
    assert outcome.response.text == "abc" and outcome.response.status == "done"
    assert publisher.kinds[0] == "show" and publisher.kinds[-1] == "update"


def test_an_error_is_returned_with_the_partial_response(backend: list[ListBackend]) -> None:
    backend.append(ListBackend(text_chunks("ab"), error=Boom("The server broke; try again.")))
    publisher = ListPublisher()
    outcome = show_live(REQUEST, publisher=publisher)  # returns: the caller decides to raise
    assert outcome.ending == "error"
    assert isinstance(outcome.error, Boom) and str(outcome.error) == "The server broke; try again."
    assert outcome.response.text == "ab" and outcome.response.status == "error"
    assert outcome.response.error == "The server broke; try again."
    assert outcome.error.response is outcome.response
    assert publisher.kinds[-1] == "update"  # the final bundle is shown all the same


def test_a_kernel_interrupt_is_returned_as_interrupted(backend: list[ListBackend]) -> None:
    backend.append(ListBackend(text_chunks("abc"), error=KeyboardInterrupt()))
    outcome = show_live(REQUEST, publisher=ListPublisher())
    assert outcome.ending == "interrupted"
    assert isinstance(outcome.error, Interrupted)
    assert outcome.error.response is outcome.response
    assert outcome.response.text == "abc" and outcome.response.status == "interrupted"
    assert "stopped after 3 tokens" in str(outcome.error)


def test_a_stop_is_returned_as_interrupted(backend: list[ListBackend]) -> None:
    cancel = Cancel()
    cancel.request()
    backend.append(ListBackend(text_chunks("abc")))
    outcome = show_live(REQUEST, publisher=ListPublisher(), cancel=cancel)
    assert outcome.ending == "interrupted" and isinstance(outcome.error, Interrupted)
    assert outcome.error.response is outcome.response
    assert outcome.response.text == "a"  # the chunk in hand when the Stop was seen
