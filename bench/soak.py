"""Soak: many generations in one kernel, mixed backends, some interrupted, some failing.

What it checks is what a long notebook session does to a kernel: memory growth (RSS of
the kernel process after a warm-up round vs at the end), threads left running, and TCP
connections left open to the servers. It prints the figures; it asserts nothing.

Mix per round of 10: in-kernel tiny model (3), OpenAI-compatible stream (2), Ollama (2),
a mid-stream error, an HTTP 500, and an interrupt (alternating in-kernel / HTTP stall).
Run: ``python bench/soak.py [--generations 300]``.
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
    parser.add_argument("--generations", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptedServer(respond) as openai,
        OllamaFake() as ollama,
    ):
        model = write_tiny_model(Path(tmp) / "tiny.gguf")
        kernel = Kernel(env={"OPENAI_BASE_URL": f"{openai.url}/v1", "OLLAMA_HOST": ollama.url})
        pid = kernel.manager.provisioner.pid  # type: ignore[union-attr]
        ports = {openai.port, ollama.server.port}
        cells = [
            ("llama", f"%%llm llama:{model} -t 0.8 -n 300\nOnce upon a time"),
            ("openai", "%%llm openai:m\nhello"),
            ("ollama", "%%llm ollama:tiny\nbonjour tout le monde"),
            ("llama", f"%%llm llama:{model} -n 100 --seed 3\nAgain"),
            ("error", "%%llm openai:m\nmidstream please"),
            ("openai", "%%llm openai:m -o kept\nagain"),
            ("ollama", "%%llm ollama:flaky\nthis one breaks"),
            ("llama", f"%%llm llama:{model} -t 0 -n 50\nShort"),
            ("error", "%%llm openai:m\nfail500"),
            ("interrupt", ""),
        ]
        outcomes: Counter[str] = Counter()
        try:
            assert kernel.run("%load_ext nbstream").status == "ok"
            start_time = time.monotonic()
            before: dict[str, float] = {}
            for index in range(args.generations):
                kind, cell = cells[index % len(cells)]
                if kind == "interrupt":
                    in_kernel = (index // len(cells)) % 2 == 0
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
                outcomes[f"{kind}:{ename}"] += 1
                if index == len(cells) - 1:
                    before = kernel_state(kernel, pid, ports)
            after = kernel_state(kernel, pid, ports)
            elapsed = time.monotonic() - start_time
        finally:
            kernel.shutdown()
    print(f"{args.generations} generations in {elapsed:.0f} s")
    print("outcomes:", json.dumps(dict(sorted(outcomes.items()))))
    print(
        f"kernel RSS after the first round {before['rss_mb']:.1f} MB, at the end "
        f"{after['rss_mb']:.1f} MB (growth {after['rss_mb'] - before['rss_mb']:+.1f} MB)"
    )
    print(f"threads {before['threads']:.0f} → {after['threads']:.0f}")
    print(
        f"open connections to the servers {before['connections']:.0f} → {after['connections']:.0f}"
    )


if __name__ == "__main__":
    main()
