"""``show()`` over a user's in-memory generator, in a real kernel, against a bare loop.

For a 20,000-chunk generator, timed inside the kernel with ``time.perf_counter``:

* ``bare``: ``for chunk in gen(): pass`` — the floor;
* ``show()``: ``nbstream.show(gen())`` — the live output, the coalesced display updates,
  the final bundle; its ratio to ``bare`` and its cost per chunk;
* ``naive``: the display loop people write by hand, one ``update_display`` of the whole
  text per chunk (O(n²) bytes);
* display updates ``show()`` sent, and per second (the promise is at most ~20).

Two generators: ``free`` yields strings it already has (so ``bare`` measures nothing
but the loop and the ratio is nbstream's own per-chunk cost against almost zero), and
``paced`` does ~15 µs of Python work per chunk (a source far faster than any model).
``naive`` runs on 2,000 chunks only (it is quadratic); its figure is extrapolated as
the time per chunk at that length.

Run: ``python bench/bench_show.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.kernel import Kernel, stamp  # noqa: E402

CHUNKS = 20_000
NAIVE_CHUNKS = 2_000
REPEAT = 5

SETUP = """
import json, time
import nbstream
from IPython.display import Markdown, display

def free(n):
    for i in range(n):
        yield "tok "

def paced(n):
    for i in range(n):
        sum(range(1500))  # ~15 µs of work: a source making its next chunk
        yield "tok "

def bare(make, n):
    start = time.perf_counter()
    for chunk in make(n):
        pass
    return time.perf_counter() - start

def shown(make, n):
    start = time.perf_counter()
    r = nbstream.show(make(n), model="bench")
    return time.perf_counter() - start

def naive(make, n):
    start = time.perf_counter()
    handle = display(Markdown(""), display_id=True)
    parts = []
    for chunk in make(n):
        parts.append(chunk)
        handle.update(Markdown("".join(parts)))
    return time.perf_counter() - start
"""


def timed(kernel: Kernel, call: str) -> tuple[float, int, float]:
    """Seconds (best of REPEAT), update messages of the last run, and their span in seconds."""
    best = float("inf")
    updates, span = 0, 0.0
    for _ in range(REPEAT):
        run = kernel.run(f"print(json.dumps({call}))")
        assert run.status == "ok", run.errors
        best = min(best, json.loads(run.stdout.strip().splitlines()[-1]))
        updates = len(run.updates)
        if run.updates:
            span = stamp(run.updates[-1]) - stamp(run.displays[0])
    return best, updates, span


def main() -> None:
    kernel = Kernel()
    try:
        assert kernel.run(SETUP).status == "ok"
        print(f"{CHUNKS:,} chunks, best of {REPEAT}, timed in the kernel")
        for make in ("free", "paced"):
            bare, _, _ = timed(kernel, f"bare({make}, {CHUNKS})")
            show, updates, span = timed(kernel, f"shown({make}, {CHUNKS})")
            naive, _, _ = timed(kernel, f"naive({make}, {NAIVE_CHUNKS})")
            overhead_us = (show - bare) / CHUNKS * 1e6
            rate = (updates - 1) / span if span > 0 else 0.0
            print(
                f"{make:>5}: bare {bare * 1e3:8.1f} ms | show() {show * 1e3:8.1f} ms "
                f"(x{show / bare:.3f}, +{overhead_us:.2f} µs/chunk) | "
                f"naive {naive / NAIVE_CHUNKS * 1e6:7.1f} µs/chunk at {NAIVE_CHUNKS:,} "
                f"(x{naive / NAIVE_CHUNKS / (bare / CHUNKS):.1f} of bare per chunk) | "
                f"show() updates {updates} ({rate:.1f}/s over {span:.2f} s)"
            )
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    main()
