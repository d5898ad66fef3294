"""Property tests for the OpenAI and Ollama chunk parsers: any payload, one outcome.

Servers and proxies send surprising JSON: ``"delta": "x"``, numbers where text belongs,
``null`` everywhere, lists for objects. Whatever arrives, a parser either returns a
well-typed :class:`Chunk` (or nothing), or raises one of nbstream's own errors — never a
``TypeError`` from deep inside, which would reach the user as an "unexpected" failure.
The payloads are generated near the real shapes, so the fuzzing reaches the inner fields.
Each test fails unless all its configured examples ran; the session summary prints how
many ran (``tests/fuzzing.py``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._decoders import NDJSONDecoder, ServerSentEvent
from nbstream._exceptions import NbstreamError
from nbstream._types import Chunk, Usage
from nbstream.backends import _http, ollama, openai

from .fuzzing import fuzz

CALL = _http.Call("POST", "http://127.0.0.1:1/v1/chat/completions")
SETTINGS = settings(max_examples=300, derandomize=True, deadline=None)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False), st.text()
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, anything)


openai_payloads = st.fixed_dictionaries(
    {},
    optional={
        "choices": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "delta": maybe(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "content": maybe(st.text()),
                                    "reasoning_content": maybe(st.text()),
                                    "reasoning": maybe(st.text()),
                                    "role": maybe(st.just("assistant")),
                                },
                            )
                        ),
                        "text": maybe(st.text()),
                        "finish_reason": maybe(st.sampled_from(["stop", "length"])),
                    },
                ),
                max_size=2,
            )
        ),
        "usage": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "prompt_tokens": maybe(st.integers(0, 10**6)),
                    "completion_tokens": maybe(st.integers(0, 10**6)),
                },
            )
        ),
        "model": maybe(st.text()),
        "error": maybe(st.fixed_dictionaries({"message": maybe(st.text())})),
    },
)

ollama_lines = st.fixed_dictionaries(
    {},
    optional={
        "message": maybe(
            st.fixed_dictionaries(
                {}, optional={"content": maybe(st.text()), "thinking": maybe(st.text())}
            )
        ),
        "response": maybe(st.text()),
        "thinking": maybe(st.text()),
        "done": maybe(st.booleans()),
        "done_reason": maybe(st.sampled_from(["stop", "length"])),
        "eval_count": maybe(st.integers(0, 10**6)),
        "prompt_eval_count": maybe(st.integers(0, 10**6)),
        "model": maybe(st.text()),
        "error": maybe(st.text()),
    },
)


def well_typed(chunk: Chunk) -> None:
    assert isinstance(chunk.text, str)
    assert isinstance(chunk.reasoning, str)
    assert chunk.finish_reason is None or isinstance(chunk.finish_reason, str)
    assert chunk.model is None or isinstance(chunk.model, str)
    if chunk.usage is not None:
        assert isinstance(chunk.usage, Usage)
        for count in (chunk.usage.prompt_tokens, chunk.usage.completion_tokens):
            assert count is None or (isinstance(count, int) and not isinstance(count, bool))


@fuzz(SETTINGS)
@given(payload=st.one_of(openai_payloads, anything), raw=st.booleans())
def test_openai_event_parser_total(payload: Any, raw: bool) -> None:
    event = ServerSentEvent(data=json.dumps(payload))
    try:
        result = openai._parse_event(event, CALL, raw)
    except NbstreamError:
        return
    if isinstance(result, Chunk):
        well_typed(result)


@fuzz(SETTINGS)
@given(data=st.text(), event=st.sampled_from(["message", "error", "ping"]), raw=st.booleans())
def test_openai_event_parser_on_any_text(data: str, event: str, raw: bool) -> None:
    try:
        result = openai._parse_event(ServerSentEvent(event=event, data=data), CALL, raw)
    except NbstreamError:
        return
    if isinstance(result, Chunk):
        well_typed(result)


@fuzz(SETTINGS)
@given(line=st.one_of(ollama_lines, anything), raw=st.booleans())
def test_ollama_line_parser_total(line: Any, raw: bool) -> None:
    try:
        # A line is read by the decoder the backend uses, then turned into a chunk.
        (value,) = NDJSONDecoder(objects=True).decode(json.dumps(line).encode() + b"\n")
        result = ollama._chunk(value, raw)
    except NbstreamError:
        return
    if result is not None:
        well_typed(result)


@fuzz(SETTINGS)
@given(body=st.one_of(openai_payloads.map(json.dumps), st.text()).map(str.encode))
def test_openai_single_json_answer_total(body: bytes) -> None:
    with contextlib.suppress(NbstreamError):
        well_typed(openai._one_answer(body, CALL, raw=False))
