"""The throttle's timing, on a fake clock, serviced by hand: no test here sleeps."""

from __future__ import annotations

import pytest

from nbstream._throttle import MAX_GAP, Scheduler, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Flushes:
    """Counts flushes; ``during`` runs inside the next flush (a change made meanwhile)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.at: list[float] = []
        self.during: Throttle | None = None

    def __call__(self) -> None:
        self.at.append(self.clock.now)
        if self.during is not None:
            self.during.changed()
            self.during = None


def started(max_rate: float = 10.0) -> tuple[Throttle, Scheduler, Clock, Flushes]:
    clock = Clock()
    flushes = Flushes(clock)
    scheduler = Scheduler(background=False)
    # A CPU clock that stands still: each flush costs nothing, the interval alone counts.
    throttle = Throttle(
        flushes, max_rate=max_rate, clock=clock, scheduler=scheduler, cpu_clock=Clock()
    )
    throttle.start()
    return throttle, scheduler, clock, flushes


def test_the_first_flush_is_at_once() -> None:
    throttle, scheduler, _, flushes = started()
    assert scheduler.service() is None and flushes.at == []  # nothing changed: no flush
    throttle.changed()
    assert scheduler.service() is None
    assert flushes.at == [100.0]


def test_changes_between_flushes_coalesce_into_one() -> None:
    throttle, scheduler, clock, flushes = started()
    for _ in range(1000):
        throttle.changed()
    scheduler.service()
    assert flushes.at == [100.0]
    clock.now += 0.05
    for _ in range(1000):
        throttle.changed()
    clock.now += 0.05
    scheduler.service()
    assert flushes.at == [100.0, 100.1]
    assert throttle.flushes == 2


def test_the_interval_is_respected() -> None:
    throttle, scheduler, clock, flushes = started(max_rate=10)
    throttle.changed()
    scheduler.service()
    clock.now += 0.03
    throttle.changed()
    assert scheduler.service() == pytest.approx(0.07)  # due in 70 ms: wait, do not flush
    assert flushes.at == [100.0]
    clock.now += 0.069
    assert scheduler.service() == pytest.approx(0.001)
    clock.now += 0.001
    assert scheduler.service() is None
    assert flushes.at == [100.0, pytest.approx(100.1)]


def test_a_costly_flush_waits_longer_for_the_next() -> None:
    clock, cpu = Clock(), Clock()
    costs = iter([0.0, 0.001, 0.01, 0.0002, 0.0])  # CPU seconds each flush takes

    def flush() -> None:
        cpu.now += next(costs)

    scheduler = Scheduler(background=False)
    throttle = Throttle(flush, max_rate=20, clock=clock, scheduler=scheduler, cpu_clock=cpu)
    throttle.start()
    throttle.changed()
    assert scheduler.service() is None  # the first, at once; free: the interval follows
    clock.now += 0.05
    throttle.changed()
    assert scheduler.service() is None  # 1 ms: the next waits 200 × that, 0.2 s
    clock.now += 0.05
    throttle.changed()
    wait = scheduler.service()
    assert wait is not None and wait == pytest.approx(0.15)
    clock.now += wait
    assert scheduler.service() is None  # 10 ms: 2 s, but never more than MAX_GAP
    clock.now += 0.2
    throttle.changed()
    assert scheduler.service() == pytest.approx(MAX_GAP - 0.2)
    clock.now += MAX_GAP - 0.2
    assert scheduler.service() is None  # 0.2 ms: 40 ms, so back to the interval
    clock.now += 0.05
    throttle.changed()
    assert scheduler.service() is None
    assert throttle.flushes == 5


def test_the_final_flush_always_happens() -> None:
    throttle, scheduler, clock, flushes = started()
    throttle.stop()  # nothing ever changed: still one flush, the final state
    assert flushes.at == [100.0]

    throttle, scheduler, clock, flushes = started()
    throttle.changed()
    scheduler.service()
    clock.now += 0.01
    throttle.changed()  # not due yet when the stream ends
    throttle.stop()
    assert flushes.at == [100.0, 100.01]
    throttle.changed()
    clock.now += 1
    assert scheduler.service() is None and len(flushes.at) == 2  # stopped: nothing after


def test_a_change_during_a_flush_triggers_the_next() -> None:
    throttle, scheduler, clock, flushes = started()
    flushes.during = throttle
    throttle.changed()
    scheduler.service()
    assert flushes.at == [100.0]
    clock.now += 0.1
    assert scheduler.service() is None  # the change made while flushing was not lost
    assert flushes.at == [100.0, 100.1]


def test_a_failing_interim_flush_does_not_stop_the_stream() -> None:
    clock = Clock()
    calls: list[float] = []

    def flush() -> None:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RuntimeError("interim flush failed")

    scheduler = Scheduler(background=False)
    throttle = Throttle(flush, clock=clock, scheduler=scheduler)
    throttle.start()
    throttle.changed()
    scheduler.service()
    throttle.stop()
    assert calls == [100.0, 100.0] and throttle.flushes == 1


def test_one_scheduler_services_every_started_throttle() -> None:
    clock = Clock()
    scheduler = Scheduler(background=False)
    seen: list[str] = []
    one = Throttle(lambda: seen.append("one"), max_rate=10, clock=clock, scheduler=scheduler)
    two = Throttle(lambda: seen.append("two"), max_rate=4, clock=clock, scheduler=scheduler)
    one.start()
    two.start()
    one.changed()
    two.changed()
    scheduler.service()
    assert sorted(seen) == ["one", "two"]
    clock.now += 0.05
    one.changed()
    two.changed()
    assert scheduler.service() == pytest.approx(0.05)  # the sooner of the two
    one.stop()
    two.stop()
    assert scheduler.service() is None
