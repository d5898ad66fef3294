"""End to end: ``%%llm`` in a real kernel against the raw loop and the naive approach.

In one kernel, with the tiny generated model (greedy, so it never stops early), for
2,000 and 6,000 tokens, this prints:

* ``raw``: the raw ``Llama.generate()`` + detokenize + UTF-8 loop, no display — the ceiling;
* ``%%llm``: the whole cell (parsing, model cache, stream, coalesced display, final
  bundle), timed from the kernel's pre- to post-run-cell hooks; ratio to raw (goal ≥ 0.97);
* ``naive``: the same backend with one full-text ``update_display`` per token on the
  kernel thread — what tools that "stream" usually do;
* ``create_completion(stream=True)``: llama-cpp-python's own streaming API;
* display messages per second sent by ``%%llm`` and by the naive loop (jupyter_server
  drops above 1,000/s), and bytes on the wire;
* the time from the backend's first token to the first display message showing text;
* then, for each length, raw ÷ ``%%llm`` of each raw/cell pair (they alternate): the
  median, its 95 % bootstrap interval and the range in wall time, and in the kernel
  process's CPU time (all threads), which the load of other processes disturbs less (it
  cannot see waits for the GIL). This median is the figure the goal is read from: on a
  shared 2-core VM single pairs range ±30 % (measured: 0.56–1.59 for one tree against
  itself), so a best-of or a handful of pairs moves by more than the few percent at
  stake; 150 pairs at 2,000 tokens put the median within about ±1.5 %.

Run: ``python bench/bench_magic.py`` (``BENCH_REPEATS=N`` for N pairs at every length
instead of the default 150 at 2,000 tokens and 40 at 6,000; about 5 minutes). Prints
figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.kernel import MIME, Execution, Kernel, stamp  # noqa: E402
from tests.tinymodel import write_tiny_model  # noqa: E402

LENGTHS = (2_000, 6_000)
PAIRS = {2_000: 150, 6_000: 40}
"""Alternating raw/``%%llm`` pairs per length (``$BENCH_REPEATS`` sets one count for all)."""
if os.environ.get("BENCH_REPEATS"):
    PAIRS = dict.fromkeys(LENGTHS, int(os.environ["BENCH_REPEATS"]))
PROMPT = "Once upon a time"

SETUP = """
import sys, time, json
from IPython import get_ipython
import nbstream.backends.llamacpp as _lc
sys.path.insert(0, {root!r})
from bench._baselines import raw_generate_loop as _raw_generate_loop
from nbstream.backends.llamacpp._models import get_model
_cells = []
_ev = get_ipython().events
_ev.register("pre_run_cell", lambda *a: _cells.append(
    {{"start": time.perf_counter(), "cpu_start": time.process_time()}}))
_ev.register("post_run_cell", lambda *a: _cells[-1].update(
    end=time.perf_counter(), cpu_end=time.process_time()))
_orig_stream = _lc.BACKEND.stream
def _timed_stream(request, cancel=None):
    first = True
    for chunk in _orig_stream(request, cancel):
        if first and chunk.text:
            _cells[-1]["first_chunk_wall"] = time.time()
            first = False
        yield chunk
_lc.BACKEND.stream = _timed_stream
"""

RAW = """
_m = get_model({path!r}, {{"n_ctx": 8192}})
_toks = _m.llama.tokenize({prompt!r}.encode())
_c0 = time.process_time()
_text, _s = _raw_generate_loop(_m.llama, _toks, {n})
print(json.dumps({{"seconds": _s, "cpu": time.process_time() - _c0}}))
"""

NAIVE = """
from IPython.display import display, Markdown
from nbstream._types import Request
_req = Request(backend="llama", model={path!r}, prompt={prompt!r}, raw=True, temperature=0,
               max_tokens={n}, options={{"load": {{"n_ctx": 8192}}}})
_h = display(Markdown(""), display_id=True)
_parts = []
_s0 = time.perf_counter()
for _c in _lc.BACKEND.stream(_req):
    _parts.append(_c.text)
    _h.update(Markdown("".join(_parts)))
print(json.dumps({{"seconds": time.perf_counter() - _s0}}))
"""

STREAM_TRUE = """
_m = get_model({path!r}, {{"n_ctx": 8192}})
_m.llama.reset()
_s0 = time.perf_counter(); _k = 0
for _c in _m.llama.create_completion({prompt!r}, max_tokens={n}, temperature=0, stream=True):
    _k += 1
    if time.perf_counter() - _s0 > {budget}:
        break
print(json.dumps({{"seconds": time.perf_counter() - _s0, "chunks": _k}}))
"""


def last_json(execution: Execution) -> dict:  # type: ignore[type-arg]
    assert execution.status == "ok", execution.errors
    return dict(json.loads(execution.stdout.strip().splitlines()[-1]))


def wire_bytes(execution: Execution) -> int:
    kinds = ("display_data", "update_display_data")
    return sum(len(json.dumps(m["content"])) for m in execution.messages if m["msg_type"] in kinds)


def interval(values: list[float], draws: int = 4_000) -> str:
    """The median's 95 % bootstrap interval (seeded: the same pairs give the same text)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return f"{medians[int(draws * 0.025)]:.3f}–{medians[int(draws * 0.975)]:.3f}"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(write_tiny_model(Path(tmp) / "tiny.gguf"))
        kernel = Kernel()
        try:
            assert kernel.run("%load_ext nbstream").status == "ok"
            assert kernel.run(SETUP.format(root=str(ROOT))).status == "ok"
            # Warm up: load the model once so no timing below includes the load.
            kernel.run(f"%%llm llama:{path}?n_ctx=8192 -t 0 -n 50 --raw\n{PROMPT}")
            print(
                f"{'tokens':>7} {'raw tok/s':>10} {'%%llm tok/s':>12} {'÷raw':>6} "
                f"{'naive tok/s':>12} {'÷naive':>7} {'stream=True':>12} {'÷st=T':>6} "
                f"{'msg/s':>6} {'naive msg/s':>11} {'KB':>6} {'naive KB':>9} {'1st→disp ms':>11}"
            )
            pairs: dict[int, list[tuple[float, float]]] = {}
            for n in LENGTHS:
                # Raw loop and cell alternate, so drift on a busy machine hits both alike;
                # ÷raw is best against best, as before, and each pair's ratio is kept too.
                raws = []
                best = None
                pairs[n] = []
                for _ in range(PAIRS[n]):
                    raw_run = last_json(kernel.run(RAW.format(path=path, prompt=PROMPT, n=n)))
                    raws.append(raw_run["seconds"])
                    cell = kernel.run(f"%%llm llama:{path}?n_ctx=8192 -t 0 -n {n} --raw\n{PROMPT}")
                    assert cell.final[MIME]["usage"]["completion_tokens"] == n
                    timing = kernel.value("_cells[-2]")
                    seconds = timing["end"] - timing["start"]
                    cpu = timing["cpu_end"] - timing["cpu_start"]
                    pairs[n].append((raw_run["seconds"] / seconds, raw_run["cpu"] / cpu))
                    if best is None or seconds < best[0]:
                        best = (seconds, cell, timing)
                assert best is not None
                raw = min(raws)
                seconds, cell, timing = best
                updates = cell.updates
                span = stamp(updates[-1]) - stamp(cell.displays[0])
                first_text = next(u for u in updates if u["content"]["data"][MIME]["text"])
                latency_ms = (stamp(first_text) - timing["first_chunk_wall"]) * 1000
                naive_cell = kernel.run(NAIVE.format(path=path, prompt=PROMPT, n=n), timeout=600)
                naive = last_json(naive_cell)["seconds"]
                naive_msgs = len(naive_cell.updates)
                st = last_json(
                    kernel.run(
                        STREAM_TRUE.format(path=path, prompt=PROMPT, n=n, budget=120), timeout=600
                    )
                )
                st_rate = st["chunks"] / st["seconds"]
                print(
                    f"{n:>7} {n / raw:>10.0f} {n / seconds:>12.0f} {raw / seconds:>6.3f} "
                    f"{n / naive:>12.0f} {naive / seconds:>7.2f} {st_rate:>12.0f} "
                    f"{(n / seconds) / st_rate:>6.1f} {len(updates) / span:>6.1f} "
                    f"{naive_msgs / naive:>11.0f} {wire_bytes(cell) / 1024:>6.0f} "
                    f"{wire_bytes(naive_cell) / 1024:>9.0f} {latency_ms:>11.1f}"
                )
            print("\nraw ÷ %%llm per alternating pair: median (95 % interval) [min–max]")
            for n, ratios in pairs.items():
                wall = sorted(r[0] for r in ratios)
                cpu = sorted(r[1] for r in ratios)
                print(
                    f"{n:>7} {len(wall)} pairs  wall {statistics.median(wall):.3f} "
                    f"({interval(wall)}) [{wall[0]:.3f}–{wall[-1]:.3f}]   kernel CPU "
                    f"{statistics.median(cpu):.3f} ({interval(cpu)}) [{cpu[0]:.3f}–{cpu[-1]:.3f}]"
                )
        finally:
            kernel.shutdown()


if __name__ == "__main__":
    main()
