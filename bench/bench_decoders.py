"""Throughput of SSEDecoder against the naive way, on an OpenAI-style stream.

The stream is 5,000 ``chat.completion.chunk`` events (CJK and emoji included) fed in
network-sized pieces of 1–4 KB. The naive parser keeps every byte received, decodes the
whole buffer and calls ``str.splitlines()`` on each feed, then handles the new lines: the
cost grows with the square of the stream length (and it splits on U+2028, which is wrong).

Run from the repository root: ``PYTHONPATH=. .venv/bin/python bench/bench_decoders.py``
(or without ``PYTHONPATH`` once nbstream is installed). It prints numbers, it asserts nothing.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

from nbstream._decoders import SSEDecoder

EVENTS = 5_000
WORDS = [" the", " model", " 世界", " 👋", " streams", " tokens", " café", ",", " 東京", "."]


def make_stream(events: int = EVENTS) -> bytes:
    rng = random.Random(0)
    out = []
    for i in range(events):
        chunk = {
            "id": "chatcmpl-BdX4mQ7rT2kLp9vN3sWz8yHcE1aF",
            "object": "chat.completion.chunk",
            "created": 1762164765,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_560af6e559",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": rng.choice(WORDS)},
                    "logprobs": None,
                    "finish_reason": "stop" if i == events - 1 else None,
                }
            ],
        }
        out.append(f"data: {json.dumps(chunk, ensure_ascii=False, separators=(',', ':'))}\n\n")
    return "".join(out).encode()


def network_chunks(data: bytes, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(data):
        size = rng.randint(1024, 4096)
        chunks.append(data[i : i + size])
        i += size
    return chunks


def nbstream_sse(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.decode(chunk))
    return count + len(decoder.flush())


def naive_sse(chunks: list[bytes]) -> int:
    received = b""
    handled = 0  # lines already handled
    data: list[str] = []
    count = 0
    for chunk in chunks:
        received += chunk
        lines = received.decode("utf-8", "replace").splitlines()
        if not received.endswith((b"\n", b"\r")):
            lines.pop()  # still incomplete
        for line in lines[handled:]:
            if not line:
                if data:
                    count += 1
                    data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        handled = len(lines)
    return count


def best_of(
    runs: int, parse: Callable[[list[bytes]], int], chunks: list[bytes]
) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        count = parse(chunks)
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> None:
    data = make_stream()
    chunks = network_chunks(data)
    megabytes = len(data) / 1e6
    print(f"stream: {EVENTS:,} events, {megabytes:.2f} MB, {len(chunks)} chunks of 1-4 KB")
    results = {}
    for name, parse, runs in [("SSEDecoder", nbstream_sse, 5), ("naive", naive_sse, 1)]:
        seconds, count = best_of(runs, parse, chunks)
        results[name] = seconds
        print(
            f"{name:>10}: {megabytes / seconds:8.1f} MB/s  {count / seconds:12,.0f} events/s  "
            f"({count:,} events in {seconds * 1000:.1f} ms)"
        )
    print(f"SSEDecoder is {results['naive'] / results['SSEDecoder']:.0f}x faster than naive")
    # A live model sends one event per network packet; this is the per-feed overhead.
    per_event = [event + b"\n\n" for event in data.split(b"\n\n")[:-1]]
    seconds, count = best_of(5, nbstream_sse, per_event)
    print(f"one event per feed: {count / seconds:,.0f} events/s ({seconds * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
