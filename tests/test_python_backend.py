"""The ``py`` backend's rules, in-process: names, options, what is recorded, threads.

What a notebook user sees is tested in a real kernel (``test_show_kernel.py``); these
pin down the parts a kernel test cannot reach directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nbstream._exceptions import UsageError
from nbstream._request import resolve, show_request
from nbstream._specs import Registry, find_function, parse_spec
from nbstream._stream import Stream
from nbstream._types import Cancel
from nbstream.backends.python import BACKEND, FUNCTION, SOURCE, options_for, takes_options
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
