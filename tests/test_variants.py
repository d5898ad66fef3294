"""Stream variants real servers send, and exactly what the user gets from each.

Each row is a server's answer, played byte for byte by the scripted server (a real
socket) to ``nbstream.stream()``, and the outcome a user sees: the status, the answer,
the reasoning, the server's token counts, and for an error its type and a phrase that
only the right sentence contains (and one it must not contain). The comment on each row
names where its wire format comes from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import nbstream
from nbstream._exceptions import NbstreamError

from .fakes import drain
from .servers.scripted import Script, ScriptedServer, chat_delta, sse

SECRET = "sk-variants-7Yq2Lm9R"
JSON = (("Content-Type", "application/json"),)
TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


def part_delta(*parts: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """A Mistral chunk whose ``delta.content`` is a list of typed parts."""
    return {
        "id": "cmpl-1",
        "object": "chat.completion.chunk",
        "model": "magistral-small-2509",
        "choices": [{"index": 0, "delta": {"content": list(parts)}, "finish_reason": finish}],
    }


def thinking(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def ollama_lines(*pieces: str) -> bytes:
    """Ollama's /api/chat stream: one JSON object per line, the last with the counts."""
    lines = [
        {
            "model": "m",
            "created_at": "2025-06-01T10:00:00Z",
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
        for piece in pieces
    ]
    lines.append(
        {
            "model": "m",
            "created_at": "2025-06-01T10:00:01Z",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            "prompt_eval_count": 5,
            "eval_count": len(pieces),
        }
    )
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


# llama.cpp's server (utils.hpp server_sent_event(sink, "error", …), before late 2025):
# the event name written as the field, compact JSON, then [DONE] for OpenAI-style routes.
LLAMACPP_CONTEXT_ERROR = (
    b'error: {"code":400,"message":"the request exceeds the available context size, try '
    b'increasing it","type":"exceed_context_size_error","n_prompt_tokens":5120,"n_ctx":4096}'
    b"\n\ndata: [DONE]\n\n"
)


@dataclass(frozen=True)
class Variant:
    name: str
    script: Script
    status: str
    text: str
    reasoning: str = ""
    error: str | None = None
    phrase: str = ""
    absent: str = ""  # a phrase the sentence must not contain (another cause's advice)
    model: str = "openai:m"
    options: dict[str, Any] = field(default_factory=dict)
    usage: tuple[int, int] | None = None


VARIANTS = [
    # Mistral's reasoning models (Magistral): delta.content is a list of ThinkChunk /
    # TextChunk parts (mistralai/client-python src/mistralai/models/thinkchunk.py).
    Variant(
        "content as a list of thinking and text parts",
        Script(
            body=sse(
                part_delta(thinking("The user wants ")),
                part_delta(thinking("a capital.")),
                part_delta(text_part("Paris")),
                part_delta(text_part(" is the capital."), {"type": "reference", "ids": [1]}),
                chat_delta(" Mistral also sends plain strings.", finish="stop"),
            )
        ),
        "done",
        "Paris is the capital. Mistral also sends plain strings.",
        reasoning="The user wants a capital.",
    ),
    Variant(
        "llama.cpp `error:` line for a prompt longer than the context",
        Script(body=[LLAMACPP_CONTEXT_ERROR]),
        "error",
        "",
        error="StreamError",
        phrase="does not fit the model's context",
        absent="try again",
    ),
    # Newer llama.cpp answers the same with HTTP 400 before streaming
    # (format_error_response, type exceed_context_size_error).
    Variant(
        "llama.cpp HTTP 400 for a prompt longer than the context",
        Script(
            400,
            JSON,
            [
                b'{"error":{"code":400,"message":"request (5120 tokens) exceeds the available '
                b'context size (4096 tokens), try increasing it","type":"exceed_context_size_error"'
                b',"n_prompt_tokens":5120,"n_ctx":4096}}'
            ],
            framing="length",
        ),
        "error",
        "",
        error="HTTPStatusError",
        phrase="--ctx-size",
        absent="check the model name",
    ),
    # vLLM's ErrorResponse (object="error" at the top level) written by
    # create_streaming_error_response in releases before it was nested under "error".
    Variant(
        "vLLM top-level error object mid-stream",
        Script(
            body=sse(
                chat_delta("Hel"),
                {
                    "object": "error",
                    "message": "Background loop has errored already.",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                },
            )
        ),
        "error",
        "Hel",
        error="StreamError",
        phrase="(Background loop has errored already)",
    ),
    Variant(
        "a gateway that refuses stream_options by name",
        Script(
            400,
            JSON,
            [
                b'{"error":{"code":"Bad Request","status":400,"message":"extra_forbidden: '
                b'body.stream_options: Extra inputs are not permitted"}}'
            ],
            framing="length",
        ),
        "error",
        "",
        error="HTTPStatusError",
        phrase="does not accept stream_options — leave it out with stream_options=False",
    ),
    Variant(
        "a gateway that refuses the request without saying why",
        Script(400, JSON, [b'{"error":{"message":"Bad Request"}}'], framing="length"),
        "error",
        "",
        error="HTTPStatusError",
        phrase="if it refuses stream_options, leave it out with stream_options=False "
        "(or %config LLMMagics.stream_options = False)",
    ),
    Variant(
        "stream_options left out: a rejection names nothing to leave out",
        Script(400, JSON, [b'{"error":{"message":"Bad Request"}}'], framing="length"),
        "error",
        "",
        error="HTTPStatusError",
        phrase="check the model name and the options.",
        absent="stream_options",
        options={"stream_options": False},
    ),
    # Keep-alives some proxies send: an empty data field dispatches an event whose data
    # is "" (WHATWG HTML 9.2.6), which carries nothing.
    Variant(
        "empty data: keep-alive frames",
        Script(
            body=[
                b"data:\n\n",
                *sse(chat_delta("Hel"), done=False),
                b"data: \n\n",
                b"data:\r\n\r\n",
                *sse(chat_delta("lo"), chat_delta(finish="stop")),
            ]
        ),
        "done",
        "Hello",
    ),
    Variant(
        "a malformed event after good ones is not blamed on the URL",
        Script(body=[*sse(chat_delta("Hel"), done=False), b"data: {nope\n\n"]),
        "error",
        "Hel",
        error="MalformedStreamError",
        phrase="the text before it is kept",
        absent="--base-url",
    ),
    Variant(
        "a first event that is not JSON points at the URL",
        Script(body=[b"data: hello from another service\n\n"]),
        "error",
        "",
        error="MalformedStreamError",
        phrase="check that --base-url or $OPENAI_BASE_URL points at an OpenAI-compatible API",
    ),
    # OpenAI's 404 for an unknown model (error.code "model_not_found").
    Variant(
        "HTTP 404 naming an unknown model (OpenAI)",
        Script(
            404,
            JSON,
            [
                b'{"error":{"message":"The model `m` does not exist or you do not have access '
                b'to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}'
            ],
            framing="length",
        ),
        "error",
        "",
        error="ModelNotFound",
        phrase="does not have the model 'm'; check the name, or pick one from `%llm models`",
    ),
    # vLLM's _check_model: ErrorResponse with NotFoundError and code 404.
    Variant(
        "HTTP 404 naming an unknown model (vLLM)",
        Script(
            404,
            JSON,
            [
                b'{"object":"error","message":"The model `m` does not exist.","type":'
                b'"NotFoundError","param":null,"code":404}'
            ],
            framing="length",
        ),
        "error",
        "",
        error="ModelNotFound",
        phrase="does not have the model 'm'",
    ),
    Variant(
        "HTTP 404 from a wrong path is not a missing model",
        Script(404, JSON, [b'{"detail":"Not Found"}'], framing="length"),
        "error",
        "",
        error="HTTPStatusError",
        phrase="points at the API root",
    ),
    # Groq: usage only in the final chunk's x_groq (groq-python ChatCompletionChunk.x_groq).
    Variant(
        "usage only under x_groq.usage",
        Script(
            body=sse(
                chat_delta("Hel"),
                chat_delta("lo"),
                {
                    **chat_delta(finish="stop"),
                    "x_groq": {
                        "id": "req_01jx",
                        "usage": {
                            "queue_time": 0.02,
                            "prompt_tokens": 18,
                            "prompt_time": 0.001,
                            "completion_tokens": 7,
                            "completion_time": 0.01,
                            "total_tokens": 25,
                            "total_time": 0.011,
                        },
                    },
                },
            )
        ),
        "done",
        "Hello",
        usage=(18, 7),
    ),
    # OpenAI: ChoiceDelta.refusal (openai-python types/chat/chat_completion_chunk.py).
    Variant(
        "delta.refusal",
        Script(
            body=sse(
                chat_delta(role="assistant", refusal=""),
                {"choices": [{"index": 0, "delta": {"refusal": "I'm sorry, "}}]},
                {"choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}}]},
                chat_delta(finish="stop"),
            )
        ),
        "done",
        "I'm sorry, I can't help with that.",
    ),
    # Ollama-compatible servers that label NDJSON text/plain; the official client
    # (ollama-python _client.py) reads the lines whatever the type.
    Variant(
        "Ollama NDJSON served as text/plain",
        Script(headers=TEXT, body=[ollama_lines("Hel", "lo")]),
        "done",
        "Hello",
        model="ollama:m",
        usage=(5, 2),
    ),
    Variant(
        "text/plain that is not NDJSON is a wrong address",
        Script(headers=TEXT, body=[b"Welcome to the proxy.\n"]),
        "error",
        "",
        error="MalformedStreamError",
        phrase="answered with text/plain, not Ollama's stream ('Welcome to the proxy.')",
        model="ollama:m",
    ),
    Variant(
        "Ollama: a malformed line after good ones is not blamed on the address",
        Script(
            headers=(("Content-Type", "application/x-ndjson"),),
            body=[ollama_lines("Hel").split(b"\n")[0] + b"\n{broken\n"],
        ),
        "error",
        "Hel",
        error="MalformedStreamError",
        phrase="the text before it is kept",
        absent="$OLLAMA_HOST",
        model="ollama:m",
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def run(server: ScriptedServer, model: str, **options: Any) -> tuple[Any, NbstreamError | None]:
    url = f"{server.url}/v1" if model.startswith("openai:") else server.url
    return drain(nbstream.stream("Hi", model=model, base_url=url, timeout=5.0, **options))


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant(variant: Variant, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server.play(variant.script)
    response, error = run(server, variant.model, **variant.options)
    assert (response.status, response.text, response.reasoning) == (
        variant.status,
        variant.text,
        variant.reasoning,
    )
    if variant.usage is not None:
        assert (response.usage.prompt_tokens, response.usage.completion_tokens) == variant.usage
        assert response.tokens == variant.usage[1]
    if variant.error is None:
        assert error is None
        return
    assert error is not None and type(error).__name__ == variant.error
    message = str(error)
    assert variant.phrase in message
    assert not variant.absent or variant.absent not in message
    assert message.endswith(".") and "\n" not in message and len(message) < 400
    assert SECRET not in message and response.error == message


def test_stream_options_are_sent_unless_left_out(server: ScriptedServer) -> None:
    ok = sse(chat_delta("ok"), chat_delta(finish="stop"))
    server.play(Script(body=ok), Script(body=ok))
    assert run(server, "openai:m")[0].text == "ok"
    assert server.last.json()["stream_options"] == {"include_usage": True}
    response, error = run(server, "openai:m", stream_options=False)
    assert error is None and response.text == "ok"
    assert "stream_options" not in server.last.json()
