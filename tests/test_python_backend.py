"""The ``py`` backend's rules, in-process: names, options, what is recorded, threads.

What a notebook user sees is tested in a real kernel (``test_show_kernel.py``); these
pin down the parts a kernel test cannot reach directly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbstream._exceptions import UsageError
from nbstream._request import resolve, show_request
from nbstream._specs import Registry, find_function, parse_spec
from nbstream._stream import Ending, Stream
from nbstream._types import Cancel, Chunk
from nbstream.backends.python import BACKEND, FUNCTION, SOURCE, options_for, takes_options
from nbstream.recording import route
from nbstream.recording._write import request_dict


def test_a_callable_model_is_the_py_backend_under_its_name(registry: Registry) -> None:
    def rag(messages: list[dict[str, str]]) -> str:
        return "x"

    settings = resolve(rag, {"temperature": 0.1}, registry=registry)
    request = settings.request("q")
    assert request.spec == "py:rag"
    assert request.options[FUNCTION] is rag
    assert resolve(lambda m: "", registry=registry).spec.spec == "py:function"
    with pytest.raises(UsageError, match="not a int"):
        resolve(3, registry=registry)  # type: ignore[arg-type]


def test_py_names_are_checked_when_written_and_looked_up_when_called() -> None:
    with pytest.raises(UsageError, match="not a Python name"):
        parse_spec("py:my-pipeline")
    namespace: dict[str, Any] = {"agent": type("Agent", (), {"run": staticmethod(len)})()}
    assert find_function("agent.run", namespace) is len
    with pytest.raises(UsageError, match="no attribute 'walk'"):
        find_function("agent.walk", namespace)
    with pytest.raises(UsageError, match="no 'missing' is defined"):
        find_function("missing", namespace)


def test_an_unbound_name_fails_only_when_it_would_be_called(registry: Registry) -> None:
    request = resolve("py:nowhere_to_be_found", registry=registry).request("q")
    assert isinstance(request.options[FUNCTION], UsageError)
    with pytest.raises(UsageError, match="nowhere_to_be_found"):
        BACKEND.describe(request)
    stream = Stream(BACKEND, request)
    assert stream.response().status == "error"
    assert stream.error is not None and "nowhere_to_be_found" in stream.error.message


def test_options_are_what_the_request_set_and_given_by_name(registry: Registry) -> None:
    def fn(messages: list[dict[str, str]]) -> str:
        return ""

    settings = resolve(fn, {"max_tokens": 5, "stop": "END"}, options={"k": 3}, registry=registry)
    assert options_for(settings.request("q")) == {"max_tokens": 5, "stop": ["END"], "k": 3}
    assert not takes_options(fn)
    assert takes_options(lambda messages, options: "")
    assert takes_options(lambda messages, **kw: "")
    assert not takes_options(lambda messages, opts=None: "")


def test_recordings_never_hold_the_users_objects() -> None:
    request = show_request(["a", "list", "is", "JSON"], model="pipe")
    recorded = request_dict(request)
    assert recorded["model"] == "pipe"
    assert SOURCE not in recorded["options"] and recorded["options"]["show"] >= 1
    with pytest.raises(UsageError, match="None"):
        show_request(None)


def test_off_the_main_thread_a_stop_does_not_wait_for_blocked_user_code() -> None:
    closed = threading.Event()
    release = threading.Event()

    class Blocking:
        def __iter__(self) -> Iterator[str]:
            return self

        def __next__(self) -> str:
            release.wait(10)
            return "late"

        def close(self) -> None:
            closed.set()

    cancel = Cancel()
    source = Blocking()
    result: dict[str, Any] = {}

    def consume() -> None:
        stream = Stream(BACKEND, show_request(source), cancel=cancel)
        result["response"] = stream.response()
        result["ended"] = time.monotonic()

    worker = threading.Thread(target=consume)
    worker.start()
    time.sleep(0.1)
    sent = time.monotonic()
    cancel.request()
    worker.join(5)
    assert result["response"].status == "interrupted"
    assert result["ended"] - sent < 0.5
    assert not closed.is_set()  # still blocked in the user's __next__
    release.set()
    assert closed.wait(2), "the source was not closed once the user's code returned"


# -- a generator of plain strings: the fast path (no Chunk built, no yield per chunk) ---------

TEXTS = ["Hel", "lo", "", " wor", "ld", "!"]  # the empty piece is no chunk (nor a token)


def _as_openai(texts: list[str]) -> Iterator[dict[str, Any]]:
    """The same pieces as OpenAI chat-completion chunks: read through the shape reader."""
    return ({"choices": [{"delta": {"content": t}}]} for t in texts)


def _driven(source: object, seen: list[str] | None = None) -> tuple[Stream, list[Ending]]:
    """The stream driven to its end, and its ending; ``seen`` gets the text after each chunk."""
    stream = Stream(
        BACKEND,
        show_request(source),
        on_chunk=None if seen is None else lambda: seen.append(stream.accumulator.text),
    )
    endings: list[Ending] = []
    stream.on_end(endings.append)
    stream.drive()
    return stream, endings


def test_plain_strings_give_what_the_same_text_as_chunks_gives() -> None:
    seen: list[str] = []  # what a live view could show after each chunk
    fast, fast_end = _driven(iter(TEXTS), seen)
    slow, slow_end = _driven(_as_openai(TEXTS))
    assert seen == ["Hel", "Hello", "Hello wor", "Hello world", "Hello world!"]
    expected = [Chunk(text=t) for t in TEXTS if t]
    for stream, (ending,) in ((fast, fast_end), (slow, slow_end)):
        response = stream.snapshot()
        assert (response.text, response.tokens, response.status) == ("Hello world!", 5, "done")
        assert response.ttft_s is not None and response.ttft_s <= response.elapsed_s  # type: ignore[operator]
        # What a recording writes: each piece with the time it arrived.
        assert list(ending.chunks) == expected
        assert len(ending.offsets) == 5 and list(ending.offsets) == sorted(ending.offsets)
        assert list(stream) == expected  # iterated again after the drive: Chunks
    # Iterated rather than driven (stream(), the chat): the consumer gets Chunks.
    assert list(Stream(BACKEND, show_request(iter(TEXTS)))) == expected
    # Split differently, or given whole: the same answer.
    assert _driven(iter(["Hello", " world!"]))[0].snapshot().text == "Hello world!"
    assert _driven("Hello world!")[0].snapshot().text == "Hello world!"


def test_the_recording_of_plain_strings_has_each_chunk_and_its_time(tmp_path: Path) -> None:
    recordings = []
    for name, source in (("fast", iter(TEXTS)), ("slow", _as_openai(TEXTS))):
        path = tmp_path / f"{name}.jsonl"
        stream = route(show_request(source, model=name), str(path)).open()
        stream.drive()
        (line,) = [json.loads(text) for text in path.read_text().splitlines()]
        recordings.append(line["chunks"])
    fast, slow = recordings
    assert [c["text"] for c in fast] == [c["text"] for c in slow] == [t for t in TEXTS if t]
    times = [c["t"] for c in fast]
    assert times == sorted(times) and times[0] >= 0 and len(set(times)) > 1


def test_a_key_split_across_plain_strings_is_never_shown_in_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-live-0123456789abcdef"
    monkeypatch.setenv("MY_SERVICE_TOKEN", key)
    shown: list[str] = []
    pieces = ["key: sk-li", "ve-0123", "456789abcdef", " end", " and sk-live-01"]
    stream = Stream(
        BACKEND,
        show_request(iter(pieces)),
        on_chunk=lambda: shown.append(stream.accumulator.text),  # what a live view reads
    )
    endings: list[Ending] = []
    stream.on_end(endings.append)
    stream.drive()
    (ending,) = endings
    assert len(shown) == len(pieces)
    assert not [text for text in shown if "sk-l" in text]  # no part of a key, ever
    assert stream.snapshot().text == "key: *** end and ***"  # a key cut off at the end too
    recorded = "".join(c.text for c in ending.chunks) + (ending.tail.text if ending.tail else "")
    assert recorded == "key: *** end and ***"


def test_a_stop_ends_a_fast_plain_string_source_within_half_a_second_and_closes_it() -> None:
    closed = threading.Event()
    deadline = time.monotonic() + 5  # a broken stop fails the test instead of hanging it

    def endless() -> Iterator[str]:
        try:
            while time.monotonic() < deadline:
                yield "x "
        finally:
            closed.set()

    cancel = Cancel()
    sent: list[float] = []

    def stop() -> None:
        time.sleep(0.2)
        sent.append(time.monotonic())
        cancel.request()

    threading.Thread(target=stop).start()
    assert threading.current_thread() is threading.main_thread()  # read here, the fast path
    stream = Stream(BACKEND, show_request(endless()), cancel=cancel)
    stream.drive()
    ended = time.monotonic()
    response = stream.snapshot()
    assert response.status == "interrupted" and response.tokens > 0
    assert ended - sent[0] < 0.5
    assert closed.is_set()


def test_a_plain_iterable_in_the_main_thread_is_read_with_no_frame_between() -> None:
    # Each generator frame between the user's code and the Stream costs every chunk: the
    # fast path is the reader itself; anything else goes through the backend's generator.
    async def agen() -> Any:
        yield "a"

    def frames(source: object) -> str:
        stream = BACKEND.stream(show_request(source, None))
        try:
            return str(stream.gi_code.co_name)  # type: ignore[attr-defined]
        finally:
            stream.close()  # type: ignore[attr-defined]

    assert frames(iter(["a", "b"])) == "_read_here"
    assert frames(["a", "b"]) == "_read_here"
    assert frames("text") == "_stream"
    assert frames(agen()) == "_stream"
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(frames(["a"])))
    worker.start()
    worker.join()
    assert seen == ["_stream"]  # off the main thread: read on the source's own thread
    text = "".join(str(c) for c in BACKEND.stream(show_request(iter(["a", "b"]), None)))
    assert text == "ab"
