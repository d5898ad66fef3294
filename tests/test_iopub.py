"""Live updates sent straight to IOPub (``nbstream/_iopub.py``), in a real kernel.

An update that skips IPython's display publisher must still be exactly what IPython
would have sent — an ``update_display_data`` whose parent is the cell that started the
answer (also when the render thread sends it while the next cell runs), with the
display's id, and whose bytes are the ones the byte budget counted — and must not be
taken where IPython does something else with displays: under ``%%capture`` nothing may
reach the front end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .kernel import MIME, Kernel

SLOW = """
import time, nbstream
def slow(n=40, pause=0.02):
    for i in range(n):
        time.sleep(pause)
        yield f"word{i} "
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    setup = k.run("%load_ext nbstream\n" + SLOW)
    assert setup.status == "ok", setup.errors
    yield k
    k.shutdown()


def test_updates_are_the_cells_own_with_the_displays_id(kernel: Kernel) -> None:
    msg_id = kernel.submit("r = nbstream.show(slow())")
    run = kernel.collect(msg_id)
    assert run.status == "ok", run.errors
    (display,) = run.displays
    display_id = display["content"]["transient"]["display_id"]
    assert len(run.updates) >= 3  # interim updates, then the final one
    for update in run.updates:
        assert update["parent_header"]["msg_id"] == msg_id
        assert update["header"]["msg_type"] == "update_display_data"
        assert set(update["content"]) == {"data", "metadata", "transient"}
        assert update["content"]["transient"] == {"display_id": display_id}
        assert set(update["content"]["data"]) == set(display["content"]["data"])
    assert run.final[MIME]["text"] == "".join(f"word{i} " for i in range(40))
    assert run.final[MIME]["status"] == "done"


def test_the_packed_bytes_are_the_bytes_the_budget_counts(kernel: Kernel) -> None:
    code = """
from nbstream import _budget
_sizes = []
_orig_spend = _budget.Budget.spend
def _spend(self, cost):
    _sizes.append(cost)
    _orig_spend(self, cost)
_budget.Budget.spend = _spend
try:
    r = nbstream.show(slow(30))
finally:
    _budget.Budget.spend = _orig_spend
"""
    run = kernel.run(code)
    assert run.status == "ok", run.errors
    counted = kernel.value("_sizes")
    assert len(counted) == 1 + len(run.updates)  # the first display, then each update
    serialize = kernel.client.session.serialize
    envelopes = set()
    for cost, msg in zip(counted[1:], run.updates, strict=True):
        content = len(serialize(msg)[5])  # [DELIM, HMAC, header, parent, metadata, content]
        envelopes.add(cost - content)
    # Each update was counted as its content's exact bytes plus the one envelope
    # measured for this answer (the first display's size is IPython's to send).
    assert len(envelopes) == 1, envelopes
    (envelope,) = envelopes
    assert 300 < envelope < 1000


def test_nothing_reaches_the_front_end_under_capture(kernel: Kernel) -> None:
    run = kernel.run("%%capture cap\nr = nbstream.show(slow())")
    assert run.status == "ok", run.errors
    assert not run.displays and not run.updates, run.summary()
    assert kernel.value("r.text") == "".join(f"word{i} " for i in range(40))
    # The captured outputs hold the answer as IPython's own display route left it.
    assert kernel.value("len(cap.outputs) >= 1")


COUNT_FLUSHES = """
from ipykernel.zmqshell import ZMQDisplayPublisher as _Z
_flushes = []
_orig_flush = _Z._flush_streams
def _counted(self):
    _flushes.append(1)
    _orig_flush(self)
_Z._flush_streams = _counted
"""
UNCOUNT_FLUSHES = "_Z._flush_streams = _orig_flush"


def test_a_first_display_with_nothing_printed_waits_for_no_flush(kernel: Kernel) -> None:
    assert kernel.run(COUNT_FLUSHES).status == "ok"
    try:
        msg_id = kernel.submit("r = nbstream.show(['Hello', ' there'])")
        run = kernel.collect(msg_id)
        flushes = kernel.value("len(_flushes)")
    finally:
        kernel.run(UNCOUNT_FLUSHES)
    assert run.status == "ok", run.errors
    assert flushes == 0  # sent straight: no round trips to the IOPub thread first
    (display,) = run.displays
    assert display["parent_header"]["msg_id"] == msg_id
    assert display["header"]["msg_type"] == "display_data"
    assert set(display["content"]) == {"data", "metadata", "transient"}
    assert set(display["content"]["transient"]) == {"display_id"}
    assert run.final[MIME]["text"] == "Hello there"
    for update in run.updates:
        assert update["content"]["transient"] == display["content"]["transient"]


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_text_printed_just_before_an_answer_stays_before_it(kernel: Kernel, stream: str) -> None:
    # Unflushed text (no newline, well within the stream's 0.2 s flush interval) is
    # flushed by IPython's route before the display, as without nbstream.
    assert kernel.run(COUNT_FLUSHES).status == "ok"
    try:
        code = f"import sys; print('printed first', end='', file=sys.{stream})\n"
        run = kernel.run(code + "r = nbstream.show(slow(3))")
        flushes = kernel.value("len(_flushes)")
    finally:
        kernel.run(UNCOUNT_FLUSHES)
    assert run.status == "ok", run.errors
    assert flushes == 1
    kinds = [m["msg_type"] for m in run.messages if m["msg_type"] in ("stream", "display_data")]
    assert kinds[:2] == ["stream", "display_data"], run.summary()
    (printed,) = run.of("stream")
    assert printed["content"] == {"name": stream, "text": "printed first"}
