"""Soak: many generations in one kernel, mixed backends, some interrupted, some failing.

What it checks is what a long notebook session does to a kernel, and it fails (exit
status 1, each broken limit named) when one is exceeded:

* memory: the kernel's RSS at the end may exceed its RSS after the first (warm-up) round
  by at most ``--max-rss-growth-mb`` (default 16 MB);
* threads: no more threads in the kernel at the end than after the first round;
* connections: at most one TCP connection from the kernel to each test server open at
  the end (an idle keep-alive one), never one per generation;
* outcomes: every generation ended the way its kind should (an answer, its error, or
  ``Interrupted``), and the kernel still answers afterwards.

Mix per round of 10: in-kernel tiny model (3), OpenAI-compatible stream (2), Ollama (1),
an OpenAI mid-stream error, an Ollama mid-stream error, an HTTP 500, and an interrupt
(alternating in-kernel / HTTP stall). It prints the counts by kind and by outcome.
Run: ``python bench/soak.py [--generations 900] [--max-rss-growth-mb 16]`` (about 2 min).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.kernel import Kernel  # noqa: E402
from tests.servers.ollama_fake import OllamaFake  # noqa: E402
from tests.servers.scripted import STALL, Recorded, Script, ScriptedServer, chat_delta, sse  # noqa: E402
from tests.tinymodel import write_tiny_model  # noqa: E402


def respond(request: Recorded) -> Script:
    prompt = request.json()["messages"][-1]["content"]
    if prompt.startswith("fail500"):
        return Script(status=500, headers=(("Content-Type", "text/plain"),), body=[b"down"])
    if prompt.startswith("midstream"):
        return Script(body=sse(chat_delta("half "), {"error": {"message": "model crashed"}}))
    if prompt.startswith("stall"):
        return Script(body=[*sse(chat_delta("slow "), done=False), STALL])
    words = [chat_delta(f"word{i} ") for i in range(200)]
    return Script(body=sse(*words, chat_delta(finish="stop")))


def kernel_state(kernel: Kernel, pid: int, ports: set[int]) -> dict[str, float]:
    threads = kernel.value("__import__('threading').active_count()")
    process = psutil.Process(pid)
    connections = [
        c
        for c in process.net_connections(kind="tcp")
        if c.raddr and c.raddr.port in ports and c.status == psutil.CONN_ESTABLISHED
    ]
    return {
        "rss_mb": process.memory_info().rss / 2**20,
        "threads": threads,
        "connections": len(connections),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generations", type=int, default=900)
    parser.add_argument("--max-rss-growth-mb", type=float, default=16.0)
    args = parser.parse_args()
    if args.generations < 20:
        parser.error("--generations must be at least 20 (two rounds of 10)")
    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptedServer(respond) as openai,
        OllamaFake() as ollama,
    ):
        model = write_tiny_model(Path(tmp) / "tiny.gguf")
        kernel = Kernel(env={"OPENAI_BASE_URL": f"{openai.url}/v1", "OLLAMA_HOST": ollama.url})
        pid = kernel.manager.provisioner.pid  # type: ignore[union-attr]
        ports = {openai.port, ollama.server.port}
        # (kind, cell, the outcome it must have: "ok" or the error's class name)
        cells = [
            ("in-kernel", f"%%llm llama:{model} -t 0.8 -n 300\nOnce upon a time", "ok"),
            ("openai", "%%llm openai:m\nhello", "ok"),
            ("ollama", "%%llm ollama:tiny\nbonjour tout le monde", "ok"),
            ("in-kernel", f"%%llm llama:{model} -n 100 --seed 3\nAgain", "ok"),
            ("mid-stream error", "%%llm openai:m\nmidstream please", "StreamError"),
            ("openai", "%%llm openai:m -o kept\nagain", "ok"),
            ("mid-stream error", "%%llm ollama:flaky\nthis one breaks", "StreamError"),
            ("in-kernel", f"%%llm llama:{model} -t 0 -n 50\nShort", "ok"),
            ("HTTP 500", "%%llm openai:m\nfail500", "HTTPStatusError"),
            ("interrupt", "", "Interrupted"),
        ]
        kinds: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        wrong: Counter[str] = Counter()
        try:
            assert kernel.run("%load_ext nbstream").status == "ok"
            start_time = time.monotonic()
            before: dict[str, float] = {}
            for index in range(args.generations):
                kind, cell, expected = cells[index % len(cells)]
                if kind == "interrupt":
                    in_kernel = (index // len(cells)) % 2 == 0
                    kind = "interrupt (in-kernel)" if in_kernel else "interrupt (HTTP stall)"
                    cell = (
                        f"%%llm llama:{model}?n_ctx=8192 -t 0 -n 8000\nGo on"
                        if in_kernel
                        else "%%llm openai:m\nstall here"
                    )
                    msg_id = kernel.submit(cell)
                    kernel.wait_for(msg_id, "update_display_data")
                    kernel.interrupt()
                    run = kernel.collect(msg_id)
                else:
                    run = kernel.run(cell)
                ename = run.errors[0]["content"]["ename"] if run.errors else "ok"
                kinds[kind] += 1
                outcomes[f"{kind}: {ename}"] += 1
                if ename != expected:
                    wrong[f"{kind}: {ename} (expected {expected})"] += 1
                if index == len(cells) - 1:
                    before = kernel_state(kernel, pid, ports)
            after = kernel_state(kernel, pid, ports)
            elapsed = time.monotonic() - start_time
            still_answers = kernel.value("1 + 1") == 2
        finally:
            kernel.shutdown()
    growth = after["rss_mb"] - before["rss_mb"]
    print(f"{args.generations} generations in {elapsed:.0f} s")
    print("by kind:", json.dumps(dict(sorted(kinds.items()))))
    print("outcomes:", json.dumps(dict(sorted(outcomes.items()))))
    print(
        f"kernel RSS after the first round {before['rss_mb']:.1f} MB, at the end "
        f"{after['rss_mb']:.1f} MB (growth {growth:+.1f} MB)"
    )
    print(f"threads {before['threads']:.0f} → {after['threads']:.0f}")
    print(
        f"open connections to the servers {before['connections']:.0f} → {after['connections']:.0f}"
    )
    broken = [f"unexpected outcome {name} ×{count}" for name, count in sorted(wrong.items())]
    if growth > args.max_rss_growth_mb:
        broken.append(f"RSS grew {growth:.1f} MB > {args.max_rss_growth_mb:g} MB")
    if after["threads"] > before["threads"]:
        broken.append(f"threads grew {before['threads']:.0f} → {after['threads']:.0f}")
    if after["connections"] > len(ports):
        broken.append(f"{after['connections']:.0f} connections to {len(ports)} servers left open")
    if not still_answers:
        broken.append("the kernel no longer evaluates 1 + 1")
    for problem in broken:
        print(f"LIMIT BROKEN: {problem}")
    if broken:
        sys.exit(1)
    print("all limits held")


if __name__ == "__main__":
    main()
