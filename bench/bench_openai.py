"""How fast does the ``openai:`` backend read a stream, next to the official client?

Both read the same answer from the same real server — llama-cpp-python's, running the
tiny test model at temperature 0, which never stops on its own and so always writes
``max_tokens`` tokens. Wall-clock tok/s is mostly the server's speed; the client's own
CPU time per token is what nbstream controls, so both are printed, with the ratio.

    .venv/bin/python bench/bench_openai.py [--tokens 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nbstream._types import Endpoint, Message, Request  # noqa: E402
from nbstream.backends.openai import BACKEND  # noqa: E402
from tests.tinymodel import SIMPLE_CHAT_TEMPLATE, write_tiny_model  # noqa: E402

PROMPT = "Write a very long story about a notebook kernel."


def start_server(model: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "llama_cpp.server", "--model", str(model)),
            *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"),
        ],
        stdout=log.open("wb"),  # the child keeps its copy; ours closes when collected
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"llama_cpp.server did not start; see {log}")


def ours(url: str, tokens: int) -> tuple[str, int]:
    request = Request(
        backend="openai",
        model="tiny",
        messages=(Message("user", PROMPT),),
        temperature=0.0,
        seed=1,
        max_tokens=tokens,
        endpoint=Endpoint(base_url=url),
    )
    parts = [chunk.text for chunk in BACKEND.stream(request) if chunk.text]
    return "".join(parts), len(parts)


def official(client: object, tokens: int) -> tuple[str, int]:
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model="tiny",
        messages=[{"role": "user", "content": PROMPT}],
        temperature=0,
        seed=1,
        max_tokens=tokens,
        stream=True,
    )
    parts = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    return "".join(parts), len(parts)


def measure(run: Callable[[], tuple[str, int]]) -> tuple[float, float, int, str]:
    """(wall seconds, client CPU seconds, tokens, text) for one streamed answer."""
    wall, cpu = time.perf_counter(), time.process_time()
    text, count = run()
    return time.perf_counter() - wall, time.process_time() - cpu, count, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import openai

    os.environ.pop("OPENAI_API_KEY", None)
    with tempfile.TemporaryDirectory() as folder:
        model = write_tiny_model(
            Path(folder) / "tiny-chat.gguf", chat_template=SIMPLE_CHAT_TEMPLATE
        )
        process, url = start_server(model, Path(folder) / "server.log")
        try:
            client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
            contenders: dict[str, Callable[[], tuple[str, int]]] = {
                "nbstream openai backend": lambda: ours(url, args.tokens),
                f"openai {openai.__version__} client": lambda: official(client, args.tokens),
            }
            measure(contenders["nbstream openai backend"])  # warm up server and pools
            results: dict[str, list[tuple[float, float, int, str]]] = {k: [] for k in contenders}
            for _ in range(args.rounds):  # interleaved, so server drift hits both alike
                for name, run in contenders.items():
                    results[name].append(measure(run))
            client.close()
        finally:
            process.terminate()
            process.wait(10)

    texts = {r[3] for runs in results.values() for r in runs}
    print(f"{args.tokens} tokens × {args.rounds} rounds, tiny model, llama_cpp.server, temp 0")
    print(f"same text from every run: {len(texts) == 1}")
    summary = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        count = runs[0][2]
        summary[name] = (count / wall, cpu / count * 1e6)
        print(
            f"  {name:28s} {count:5d} tok  {count / wall:8.1f} tok/s wall  "
            f"{cpu / count * 1e6:7.1f} µs client CPU/token"
        )
    (our_rate, our_cpu), (their_rate, their_cpu) = summary.values()
    print(
        f"ratio ours/official: {our_rate / their_rate:.2f}× tok/s, "
        f"{their_cpu / our_cpu:.2f}× less client CPU per token"
    )


if __name__ == "__main__":
    main()
