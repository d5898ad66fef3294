import traceback

import pytest

from nbstream._exceptions import HTTPStatusError, NbstreamError
from nbstream._stream import Stream
from nbstream._types import Cancel, Chunk, Request, Usage

from .fakes import Boom, ListBackend, text_chunks

REQUEST = Request(backend="fake", model="m")


def test_live_then_replay() -> None:
    backend = ListBackend([*text_chunks("héllo"), Chunk(finish_reason="stop", usage=Usage(3, 5))])
    stream = Stream(backend, REQUEST)
    first = [c.text for c in stream]
    second = [c.text for c in stream]
    assert first == second
    assert backend.started == 1 and backend.closed
    response = stream.snapshot()
    assert response.text == "héllo"
    assert response.status == "done"
    assert response.finish_reason == "stop"
    assert response.usage == Usage(3, 5)
    assert response.tokens == 5


def test_reasoning_kept_apart() -> None:
    backend = ListBackend(
        [Chunk(reasoning="think "), Chunk(reasoning="more"), Chunk(text="answer")]
    )
    response = Stream(backend, REQUEST).response()
    assert response.text == "answer"
    assert response.reasoning == "think more"


def test_error_keeps_partial_text() -> None:
    backend = ListBackend(text_chunks("part"), error=Boom("The server broke; try again."))
    stream = Stream(backend, REQUEST)
    with pytest.raises(Boom):
        for _ in stream:
            pass
    response = stream.snapshot()
    assert response.text == "part"
    assert response.status == "error"
    assert response.error == "The server broke; try again."
    assert backend.closed


def test_unexpected_exception_becomes_one_sentence() -> None:
    backend = ListBackend(text_chunks("ab"), error=KeyError("x"))
    stream = Stream(backend, REQUEST)
    with pytest.raises(NbstreamError) as info:
        stream.response() if False else list(stream)
    assert "KeyError" in str(info.value)
    assert stream.snapshot().text == "ab"


def test_keyboard_interrupt_is_interrupted_and_closes() -> None:
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST)
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            if chunk.text == "c":
                raise KeyboardInterrupt
    assert backend.closed
    response = stream.snapshot()
    assert response.status == "interrupted"
    assert response.text == "abc"


def test_consumer_break_closes_backend() -> None:
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST)
    iterator = iter(stream)
    next(iterator)
    iterator.close()  # type: ignore[attr-defined]
    assert backend.closed
    assert stream.snapshot().status == "interrupted"


def test_cancel_stops_after_current_chunk() -> None:
    cancel = Cancel()
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST, cancel=cancel)
    seen = []
    for chunk in stream:
        seen.append(chunk.text)
        if chunk.text == "b":
            cancel.request()
    assert seen == ["a", "b"]
    assert stream.snapshot().status == "interrupted"
    assert backend.closed


def test_timings_with_injected_clock() -> None:
    ticks = iter([0.0, 0.5, 1.5, 2.5, 2.5])
    backend = ListBackend([Chunk(text="a"), Chunk(text="b"), Chunk(text="c")])
    stream = Stream(backend, REQUEST, clock=lambda: next(ticks))
    list(stream)
    response = stream.snapshot()
    assert response.ttft_s == 0.5
    assert response.tokens_per_s == pytest.approx(2 / 1.0)


def test_cancel_callbacks_run_once_and_late_registration_runs_now() -> None:
    cancel = Cancel()
    calls: list[str] = []
    remove = cancel.on_request(lambda: calls.append("a"))
    cancel.on_request(lambda: calls.append("b"))
    remove()
    cancel.request()
    cancel.request()
    cancel.on_request(lambda: calls.append("late"))
    assert calls == ["b", "late"]


@pytest.mark.parametrize("cause", [None, OSError("the socket said no")])
def test_an_error_is_masked_when_made_not_rewritten(
    monkeypatch: pytest.MonkeyPatch, cause: OSError | None
) -> None:
    key = "sk-secret-test-Vx93LqZ2mN"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    try:
        raise HTTPStatusError(f"The server refused {key} (HTTP 401).", 401) from cause
    except HTTPStatusError as exc:
        said = exc
    stream = Stream(ListBackend(text_chunks("ab"), error=said), REQUEST)
    with pytest.raises(HTTPStatusError) as raised:
        list(stream)
    error = raised.value
    # The user's error: the same class and fields, its message masked, made once.
    assert error is stream.error and error.status_code == 401
    assert str(error) == error.message == "The server refused *** (HTTP 401)."
    assert error.args == ("The server refused *** (HTTP 401).",)
    assert error.__cause__ is cause
    assert key not in "".join(traceback.format_exception(error))  # no chain to the original
    assert said.message == f"The server refused {key} (HTTP 401)."  # the backend's, untouched
    assert stream.snapshot().error == error.message
