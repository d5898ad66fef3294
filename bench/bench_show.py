"""``show()`` over a user's in-memory generator, in a real kernel, against a bare loop.

For a 20,000-chunk generator, timed inside the kernel:

* ``bare``: ``for chunk in gen(): pass`` — the floor;
* ``show()``: ``nbstream.show(gen())`` — the live output, the coalesced display updates,
  the final bundle; its ratio to ``bare`` and its cost per chunk;
* ``naive``: the display loop people write by hand, one ``update_display`` of the whole
  text per chunk (O(n²) bytes);
* display updates ``show()`` sent, and the closest two sent while streaming (the promise
  is at most ~20 a second: ≥ 50 ms apart). The first update follows the first chunk at
  once and the final one comes at the end, so a rate over a run this short means nothing.

Three generators: ``free`` yields strings it already has (so ``bare`` measures nothing
but the loop and the ratio is nbstream's own per-chunk cost against almost zero),
``paced`` does ~15 µs of Python work per chunk (a source far faster than any model), and
``prose`` is ``paced`` with a paragraph break every 40 chunks, as a real answer has
(``paced``'s answer is one 80 KB line, the live Markdown's worst case).
``naive`` runs on 2,000 chunks only (it is quadratic); its figure is extrapolated as
the time per chunk at that length.

``bare`` and ``show()`` alternate, ``ROUNDS`` pairs per generator, and each pair gives a
ratio: the medians are printed, with the spread, as wall time (``perf_counter``) and as
the kernel process's CPU time (``process_time``: every thread, the display thread and
ipykernel's I/O thread included), which a busy machine disturbs less. Before timing,
one ``show()`` and a pause let the kernel settle: the first live output of a kernel
waits ~2 s for a front end's hello (see ``nbstream._channel``); these figures are after
that, where no front end answers (sparse whole updates, as nbconvert and a terminal get).

On a shared 2-core VM single pairs range ±30 %, so the median of a handful moves by
more than the 3 % at stake: each median is printed with its 95 % bootstrap interval, over
60 pairs by default (about 2 minutes in all).

Then two more: the floor for ``free`` (``"".join(gen)``: keeping the text and nothing
else, the least any display does), and ``timed`` (``paced`` timing its own work as it
runs), which splits ``show()``'s extra time in two: nbstream's own work on the cell's
thread (what a run spends outside the generator's work, against the bare loop's), and
the generator's own work running slower under ``show()`` — in wall time and in its
thread's CPU time, which leaves out waits for the GIL — with the cell's thread's extra
minor page faults and voluntary context switches (each a wait, mostly for the GIL).

Run: ``python bench/bench_show.py`` (``BENCH_REPEATS=N`` for N pairs per generator).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_magic import interval  # noqa: E402
from tests.kernel import Kernel, stamp  # noqa: E402

CHUNKS = 20_000
NAIVE_CHUNKS = 2_000
ROUNDS = int(os.environ.get("BENCH_REPEATS", "60"))
NAIVE_REPEAT = 3
SETTLE = 2.5  # seconds: longer than nbstream._channel.HELLO_WAIT

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

def prose(n):
    for i in range(n):
        sum(range(1500))
        yield "tok\\n\\n" if i % 40 == 39 else "tok "

import resource
OWN = [0.0, 0.0]  # `timed`'s own work this run: seconds, and its thread's CPU seconds

def timed(n):
    for i in range(n):
        start, cpu = time.perf_counter(), time.thread_time()
        sum(range(1500))
        OWN[0] += time.perf_counter() - start
        OWN[1] += time.thread_time() - cpu
        yield "tok "

def thread_usage():  # this thread's minor page faults and voluntary context switches
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_minflt, usage.ru_nvcsw

def split(kind, n):  # one `timed` run, bare or shown: wall, own work, own CPU, faults, switches
    gen = timed(n)
    OWN[0] = OWN[1] = 0.0
    faults, switches = thread_usage()
    start = time.perf_counter()
    if kind == "bare":
        for chunk in gen:
            pass
    else:
        nbstream.show(gen, model="bench")
    wall = time.perf_counter() - start
    after = thread_usage()
    return wall, OWN[0], OWN[1], after[0] - faults, after[1] - switches

def joined(make, n):
    gen = make(n)
    start, cpu = time.perf_counter(), time.process_time()
    "".join(gen)
    return time.perf_counter() - start, time.process_time() - cpu

def bare(make, n):
    gen = make(n)
    start, cpu = time.perf_counter(), time.process_time()
    for chunk in gen:
        pass
    return time.perf_counter() - start, time.process_time() - cpu

def shown(make, n):
    gen = make(n)
    start, cpu = time.perf_counter(), time.process_time()
    r = nbstream.show(gen, model="bench")
    return time.perf_counter() - start, time.process_time() - cpu

def naive(make, n):
    start, cpu = time.perf_counter(), time.process_time()
    handle = display(Markdown(""), display_id=True)
    parts = []
    for chunk in make(n):
        parts.append(chunk)
        handle.update(Markdown("".join(parts)))
    return time.perf_counter() - start, time.process_time() - cpu
"""


def run(kernel: Kernel, call: str) -> tuple[float, float, list[float]]:
    """Wall and CPU seconds of one call, and the kernel's stamps of its display messages."""
    execution = kernel.run(f"print(json.dumps({call}))")
    assert execution.status == "ok", execution.errors
    wall, cpu = json.loads(execution.stdout.strip().splitlines()[-1])
    return wall, cpu, [stamp(m) for m in execution.displays + execution.updates]


def value(kernel: Kernel, call: str) -> Any:
    """What ``call`` returns in the kernel (as JSON)."""
    execution = kernel.run(f"print(json.dumps({call}))")
    assert execution.status == "ok", execution.errors
    return json.loads(execution.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> str:
    return (
        f"{statistics.median(values):.3f} (95 % {interval(values)}; "
        f"{min(values):.3f}–{max(values):.3f})"
    )


def main() -> None:
    kernel = Kernel()
    try:
        assert kernel.run(SETUP).status == "ok"
        run(kernel, "shown(free, 10)")
        time.sleep(SETTLE)
        print(
            f"{CHUNKS:,} chunks, {ROUNDS} alternating bare/show() pairs each, timed in the "
            "kernel; ratios are medians (95 % interval of the median; min–max)"
        )
        for make in ("free", "paced", "prose"):
            walls, cpus, bare_ms, show_ms = [], [], [], []
            counts, gaps = [], []
            for index in range(ROUNDS):
                pair = ["bare", "shown"] if index % 2 == 0 else ["shown", "bare"]
                timed = {name: run(kernel, f"{name}({make}, {CHUNKS})") for name in pair}
                (bare_wall, bare_cpu, _), (show_wall, show_cpu, stamps) = (
                    timed["bare"],
                    timed["shown"],
                )
                walls.append(show_wall / bare_wall)
                cpus.append(show_cpu / bare_cpu)
                bare_ms.append(bare_wall * 1e3)
                show_ms.append(show_wall * 1e3)
                updates = len(stamps) - 1  # after the first display; the last is the final
                counts.append(updates)
                interim = stamps[1:-1]  # updates sent while streaming
                gaps.extend(b - a for a, b in itertools.pairwise(interim))
            naive = min(run(kernel, f"naive({make}, {NAIVE_CHUNKS})")[0] for _ in range(3))
            bare_wall = statistics.median(bare_ms)
            overhead_us = (statistics.median(show_ms) - bare_wall) / CHUNKS * 1e3
            closest = f"{min(gaps) * 1e3:.0f} ms" if gaps else "n/a (fewer than two)"
            print(
                f"{make:>5}: bare {bare_wall:7.1f} ms | show() "
                f"{statistics.median(show_ms):7.1f} ms (+{overhead_us:.2f} µs/chunk) | "
                f"show()/bare wall x{spread(walls)}, CPU x{spread(cpus)} | "
                f"naive {naive / NAIVE_CHUNKS * 1e6:6.1f} µs/chunk at {NAIVE_CHUNKS:,} | "
                f"updates {min(counts)}–{max(counts)}, closest two interim ones {closest} apart"
            )
        floor(kernel)
        split(kernel)
    finally:
        kernel.shutdown()


def split(kernel: Kernel) -> None:
    """Where ``show()``'s extra time goes: nbstream's own work, or the generator's, slower.

    ``timed`` is ``paced`` adding up the time of its own work (the ``sum``) as it runs,
    in wall time and in its thread's CPU time (which leaves out waits for the GIL); what
    is left of a run's wall time is the loop that reads it — the bare ``for`` or all of
    ``show()``'s work on the cell's thread, waits for the GIL included.
    """
    outside, own, own_cpu, walls = [], [], [], []
    faults, switches = [], []
    for index in range(ROUNDS):
        pair = ["bare", "show"] if index % 2 == 0 else ["show", "bare"]
        runs = {name: value(kernel, f"split({name!r}, {CHUNKS})") for name in pair}
        bare, show = runs["bare"], runs["show"]
        outside.append(((show[0] - show[1]) - (bare[0] - bare[1])) / bare[0] * 100)
        own.append(show[1] / bare[1])
        own_cpu.append(show[2] / bare[2])
        walls.append(show[0] / bare[0])
        faults.append(show[3] - bare[3])
        switches.append(show[4] - bare[4])
    print(
        f"timed: show()/bare wall x{spread(walls)}; of that, outside the generator's own "
        f"work (nbstream's, on the cell's thread) +{spread(outside)} % of bare; the "
        f"generator's own work under show() x{spread(own)}, in its thread's CPU time "
        f"x{spread(own_cpu)}; the cell's thread under show(), a run: "
        f"{statistics.median(faults):+.0f} minor page faults, "
        f"{statistics.median(switches):+.0f} voluntary context switches"
    )


def floor(kernel: Kernel) -> None:
    """The least a display can do, keeping the text: ``"".join`` over ``free``."""
    ratios = []
    for index in range(ROUNDS):
        pair = ["bare", "joined"] if index % 2 == 0 else ["joined", "bare"]
        timed = {name: run(kernel, f"{name}(free, {CHUNKS})")[0] for name in pair}
        ratios.append(timed["joined"] / timed["bare"])
    print(f' free: "".join(gen)/bare wall x{spread(ratios)} (keeping the text, nothing else)')


if __name__ == "__main__":
    main()
