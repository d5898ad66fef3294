"""How much nbstream's llama.cpp token loop costs, against the raw loop and llama-cpp-python.

Prints tokens per second for the tiny generated model (greedy, so it never stops early)
at 1,000 / 2,000 / 6,000 tokens:

* ``raw``: ``Llama.generate()`` + per-token detokenize + incremental UTF-8, nothing else
  (``bench/_baselines.py``: ``raw_generate_loop``) — the ceiling;
* ``nbstream``: ``BACKEND.stream()`` — chunks, exact counts, stop/cancel checks, lock;
  the ratio to ``raw`` is the goal (≥ 0.97);
* ``create_completion(stream=True)``, capped by a time budget because its cost per
  token grows with the answer (it reports how far it got);
* ``create_completion(stream=False)``.

The tiny model is so fast that per-token overhead shows; with a real model compute
dominates and all loops converge. Run: ``python bench/bench_llama_loop.py [--budget S]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._baselines import raw_generate_loop
from nbstream._types import Request
from nbstream.backends.llamacpp import BACKEND
from nbstream.backends.llamacpp._models import get_model
from tests.tinymodel import write_tiny_model

PROMPT = "Hello world"
LOAD = {"n_ctx": 8192}
LENGTHS = (1_000, 2_000, 6_000)


def raw_rate(llama: object, tokens: list[int], n: int) -> float:
    _, seconds = raw_generate_loop(llama, tokens, n)
    return n / seconds


def nbstream_rate(path: Path, n: int) -> float:
    request = Request(
        backend="llama",
        model=str(path),
        prompt=PROMPT,
        temperature=0,
        max_tokens=n,
        options={"load": LOAD},
    )
    start = time.perf_counter()
    produced = 0
    for chunk in BACKEND.stream(request):
        produced += chunk.tokens
    seconds = time.perf_counter() - start
    assert produced == n, produced
    return n / seconds


def completion_stream_rate(llama: object, n: int, budget: float) -> tuple[float, int]:
    start = time.perf_counter()
    reached = 0
    for _ in llama.create_completion(  # type: ignore[attr-defined]
        PROMPT, max_tokens=n, temperature=0, stream=True
    ):
        reached += 1
        if time.perf_counter() - start > budget:
            break
    return reached / (time.perf_counter() - start), reached


def completion_rate(llama: object, n: int) -> float:
    start = time.perf_counter()
    result = llama.create_completion(PROMPT, max_tokens=n, temperature=0)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    return int(result["usage"]["completion_tokens"]) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="seconds for stream=True")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for raw/nbstream")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = write_tiny_model(Path(folder) / "tiny.gguf", context_length=8192)
        llama = get_model(str(path), LOAD).llama
        tokens = llama.tokenize(PROMPT.encode())
        raw_rate(llama, tokens, 500)  # warm up
        nbstream_rate(path, 500)
        print(f"tiny model, n_threads={llama.n_threads}, greedy, best of {args.repeat}")
        print(
            "tokens    raw tok/s  nbstream tok/s  ratio"
            "   stream=True tok/s (chunks)  stream=False tok/s"
        )
        for n in LENGTHS:
            raws, ours = [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                raws.append(raw_rate(llama, tokens, n))
                ours.append(nbstream_rate(path, n))
            raw, our = max(raws), max(ours)
            streamed, reached = completion_stream_rate(llama, n, args.budget)
            whole = completion_rate(llama, n)
            print(
                f"{n:>6}  {raw:>11,.0f}  {our:>14,.0f}  {our / raw:>5.3f}"
                f"  {streamed:>17,.1f} ({reached:>5})  {whole:>18,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
