"""Cost of recognising chunks by shape: ``ShapeReader.read`` per chunk, 20,000 chunks.

``show()`` calls ``read`` once per item of the user's stream, so its cost is what
``show()`` adds to a bare loop over the same stream. Measured for ``str`` chunks (the
fast path), OpenAI ``ChatCompletionChunk`` objects (pydantic, built by the ``openai``
package itself) and their dicts, Anthropic raw events and Ollama ``ChatResponse``
objects; the bare loop over the same list is the floor. Best of five runs.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python bench/bench_shapes.py``.
It prints numbers, it asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nbstream._shapes import ShapeReader

CHUNKS = 20_000
WORDS = [" the", " model", " 世界", " 👋", " streams", " tokens", " café", ",", " 東京", "."]


def openai_chunks() -> list[Any]:
    from openai.types.chat import ChatCompletionChunk

    return [
        ChatCompletionChunk.model_validate(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1762164765,
                "model": "gpt-4o-mini",
                "choices": [
                    {"index": 0, "delta": {"content": WORDS[i % 10]}, "finish_reason": None}
                ],
            }
        )
        for i in range(CHUNKS)
    ]


def anthropic_events() -> list[Any]:
    from anthropic.types import RawContentBlockDeltaEvent

    return [
        RawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": WORDS[i % 10]},
            }
        )
        for i in range(CHUNKS)
    ]


def ollama_chunks() -> list[Any]:
    from ollama import ChatResponse

    return [
        ChatResponse.model_validate(
            {
                "model": "llama3.2",
                "created_at": "2026-11-01T00:00:00Z",
                "message": {"role": "assistant", "content": WORDS[i % 10]},
                "done": False,
            }
        )
        for i in range(CHUNKS)
    ]


def best(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bare(items: list[Any]) -> Callable[[], object]:
    def loop() -> None:
        for _item in items:
            pass

    return loop


def shaped(items: list[Any]) -> Callable[[], object]:
    def loop() -> None:
        read = ShapeReader().read
        for item in items:
            read(item)

    return loop


def main() -> None:
    openai = openai_chunks()
    streams = {
        "str": [WORDS[i % 10] for i in range(CHUNKS)],
        "OpenAI ChatCompletionChunk": openai,
        "OpenAI chunk dicts": [chunk.model_dump() for chunk in openai],
        "Anthropic content_block_delta": anthropic_events(),
        "Ollama ChatResponse": ollama_chunks(),
    }
    print(f"{CHUNKS:,} chunks, best of 5; µs per chunk")
    print(f"{'shape':32} {'bare loop':>10} {'read()':>10}")
    for name, items in streams.items():
        floor = best(bare(items)) / CHUNKS * 1e6
        cost = best(shaped(items)) / CHUNKS * 1e6
        print(f"{name:32} {floor:10.3f} {cost:10.3f}")


if __name__ == "__main__":
    main()
