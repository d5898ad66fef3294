import contextvars
import itertools
import threading
import time
from typing import Any

from nbstream._live import LiveOutput

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


class ListPublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any, str, float]] = []

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self.messages.append(("show", data, VAR.get(), time.monotonic()))

    def update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        self.messages.append(("update", data, VAR.get(), time.monotonic()))


def test_coalesces_fast_changes_and_always_sends_final() -> None:
    state = {"n": 0}
    publisher = ListPublisher()
    live = LiveOutput(lambda: ({"n": state["n"]}, {}), publisher, max_rate=20)
    live.start()
    started = time.monotonic()
    for i in range(1, 20001):
        state["n"] = i
        live.changed()
        if i % 100 == 0:
            time.sleep(0.001)
    elapsed = time.monotonic() - started
    live.stop()
    kinds = [m[0] for m in publisher.messages]
    assert kinds[0] == "show" and kinds.count("show") == 1
    updates = kinds.count("update")
    assert updates == live.updates
    assert 2 <= updates <= 2 + 20 * elapsed
    assert publisher.messages[-1][1] == {"n": 20000}


def test_updates_are_spaced_by_the_interval() -> None:
    publisher = ListPublisher()
    live = LiveOutput(lambda: ({}, {}), publisher, max_rate=10)
    live.start()
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        live.changed()
        time.sleep(0.002)
    live.stop()
    times = [m[3] for m in publisher.messages if m[0] == "update"][:-1]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps and min(gaps) >= 0.095


def test_no_change_no_interim_update() -> None:
    publisher = ListPublisher()
    live = LiveOutput(lambda: ({}, {}), publisher)
    live.start()
    time.sleep(0.2)
    live.stop()
    assert [m[0] for m in publisher.messages] == ["show", "update"]


def test_render_thread_runs_in_callers_context() -> None:
    publisher = ListPublisher()
    results: list[str] = []

    def cell() -> None:
        VAR.set("cell-1")
        live = LiveOutput(lambda: ({}, {}), publisher)
        live.start()
        live.changed()
        time.sleep(0.1)
        live.stop()
        results.append("ok")

    thread = threading.Thread(target=cell)
    thread.start()
    thread.join()
    assert results == ["ok"]
    assert {m[2] for m in publisher.messages} == {"cell-1"}


def test_failing_interim_render_does_not_stop_final() -> None:
    publisher = ListPublisher()
    calls = {"n": 0}

    def render() -> tuple[dict[str, Any], dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("interim render failed")
        return {"n": calls["n"]}, {}

    live = LiveOutput(render, publisher)
    live.start()
    live.changed()
    time.sleep(0.15)
    live.stop()
    assert publisher.messages[-1][0] == "update"


def test_not_live_shows_only_the_final_bundle_once() -> None:
    state = {"n": 0}
    publisher = ListPublisher()
    live = LiveOutput(lambda: ({"n": state["n"]}, {}), publisher, live=False)
    live.start()
    for i in range(1, 4):
        state["n"] = i
        live.changed()
    assert publisher.messages == []  # nothing before the end, not even a first display
    live.stop()
    assert [(m[0], m[1]) for m in publisher.messages] == [("show", {"n": 3})]
    assert live.updates == 0
