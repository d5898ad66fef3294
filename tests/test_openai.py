"""The ``openai:`` backend against real servers on 127.0.0.1.

Two kinds of server, for two kinds of question. llama-cpp-python's own OpenAI-compatible
server, running the tiny GGUF model, answers "does it work with a real server, and does
it agree with the official ``openai`` client?". The scripted server answers "does it
survive every stream shape and failure seen in the wild?", down to where the network
splits a UTF-8 character, because it plays exact bytes.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbstream._exceptions import (
    ConnectError,
    HTTPStatusError,
    Interrupted,
    MalformedStreamError,
    NbstreamError,
    StreamError,
    StreamTimeout,
    UsageError,
)
from nbstream._types import Cancel, Chunk, Endpoint, Message, Request
from nbstream.backends.openai import BACKEND, _generation_call

from .servers.relay import Relay
from .servers.scripted import (
    RESET,
    STALL,
    Script,
    ScriptedServer,
    gzipped,
    scripted_server_fixture,  # noqa: F401
    sse,
)

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "sk-nbstream-TEST-5ecret-9f8e7d6c5b4a"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return SECRET


def make_request(base_url: str, *, raw: bool = False, **changes: Any) -> Request:
    timeout = changes.pop("timeout", None)
    api_key_env = changes.pop("api_key_env", None)
    fields: dict[str, Any] = {
        "backend": "openai",
        "model": "test-model",
        "messages": (Message("user", "Say hello"),),
        "prompt": "Once upon a time",
        "raw": raw,
        "endpoint": Endpoint(base_url=base_url, api_key_env=api_key_env, timeout=timeout),
    }
    fields.update(changes)
    return Request(**fields)


def run(request: Request, cancel: Cancel | None = None) -> tuple[list[Chunk], Exception | None]:
    """Every chunk the backend yields, and the error that ended it (if any)."""
    chunks: list[Chunk] = []
    try:
        for chunk in BACKEND.stream(request, cancel):
            chunks.append(chunk)
    except NbstreamError as exc:
        return chunks, exc
    return chunks, None


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def delta(content: str | None = None, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(extra)
    if content is not None:
        d["content"] = content
    return {"object": "chat.completion.chunk", "model": "m", "choices": [{"delta": d}]}


def finish(reason: str = "stop") -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def in_pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def oracle(path: Path) -> tuple[str, dict[str, Any] | None]:
    """Expected text and usage of a recorded SSE file, parsed the simplest way."""
    text, usage = [], None
    for line in path.read_bytes().split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            payload = json.loads(line[6:])
            if payload.get("usage"):
                usage = payload["usage"]
            for choice in payload.get("choices") or []:
                text.append(choice["delta"].get("content") or "")
    return "".join(text), usage


# --- stream shapes, played byte for byte --------------------------------------------


@pytest.mark.parametrize("name", ["openai_chat_stream.sse", "openai_chat_stream_crlf.sse"])
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_recorded_openai_streams(scripted_server: ScriptedServer, name: str, size: int) -> None:
    data = (FIXTURES / name).read_bytes()
    scripted_server.respond = Script(body=in_pieces(data, size))
    chunks, error = run(make_request(scripted_server.url))
    expected_text, expected_usage = oracle(FIXTURES / name)
    assert error is None
    assert text_of(chunks) == expected_text
    assert "\u2028" in expected_text or "\u2029" in expected_text or "\x85" in expected_text
    assert chunks[-1].usage is not None and expected_usage is not None
    assert chunks[-1].usage.prompt_tokens == expected_usage["prompt_tokens"]
    assert chunks[-1].usage.completion_tokens == expected_usage["completion_tokens"]
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert chunks[0].model == "gpt-4o-mini-2024-07-18"
    assert all(c.text or c.finish_reason or c.usage for c in chunks)  # role-only: nothing


def test_recorded_llamacpp_stream_with_ping_comments(scripted_server: ScriptedServer) -> None:
    path = FIXTURES / "llamacpp_server_stream.sse"
    scripted_server.respond = Script(body=in_pieces(path.read_bytes(), 5))
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert text_of(chunks) == oracle(path)[0] == "The capital of France is Paris (巴黎) 🗼"


def test_utf8_character_split_across_network_pieces(scripted_server: ScriptedServer) -> None:
    data = b"".join(sse(delta("caf\u00e9 \U0001f680 \u4e16\u754c"), finish()))
    cut = data.index("\U0001f680".encode()) + 2  # inside the 4-byte emoji
    e_cut = data.index("\u00e9".encode()) + 1  # inside the 2-byte é
    scripted_server.respond = Script(body=[data[:e_cut], 0.02, data[e_cut:cut], 0.02, data[cut:]])
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert text_of(chunks) == "caf\u00e9 \U0001f680 \u4e16\u754c"


def test_invalid_utf8_becomes_replacement_character(scripted_server: ScriptedServer) -> None:
    event = b'data: {"choices":[{"delta":{"content":"a\xffb"}}]}\n\n'
    scripted_server.respond = Script(body=[event])
    chunks, error = run(make_request(scripted_server.url))
    assert error is None and text_of(chunks) == "a\ufffdb"


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_body_framings(scripted_server: ScriptedServer, framing: Any) -> None:
    body = sse(delta("one"), delta(" two"), finish())
    scripted_server.respond = Script(body=body, framing=framing)
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert text_of(chunks) == "one two"
    assert chunks[-1].finish_reason == "stop"


def test_gzip_encoded_event_stream(scripted_server: ScriptedServer) -> None:
    data = b"".join(sse(delta("squeezed "), delta("ünïcode"), finish()))
    scripted_server.respond = Script(
        headers=[("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip")],
        body=gzipped(data, 5),
    )
    chunks, error = run(make_request(scripted_server.url))
    assert error is None and text_of(chunks) == "squeezed ünïcode"
    assert "gzip" in scripted_server.last.headers["accept-encoding"]


@pytest.mark.parametrize(
    "ending",
    [
        b'data: {"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}\n\n',  # no [DONE]
        b'data: {"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}\n',
        b'data: {"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}',
        b'data: {"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}\r',
        b'data: {"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}\n\ndata: [DONE]',
    ],
)
def test_end_without_done_or_last_blank_line(
    scripted_server: ScriptedServer, ending: bytes
) -> None:
    scripted_server.respond = Script(body=[*sse(delta("Hi"), done=False), ending], framing="close")
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert text_of(chunks) == "Hi!"
    assert chunks[-1].finish_reason == "stop"


def test_nothing_after_done_is_read(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("Hi")), b"data: {not json\n\n"])
    chunks, error = run(make_request(scripted_server.url))
    assert error is None and text_of(chunks) == "Hi"


def test_reasoning_is_kept_apart(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(
        body=sse(
            delta(role="assistant"),
            delta(None, reasoning_content="Think (DeepSeek, llama.cpp). "),
            delta(None, reasoning="Think (vLLM)."),
            delta("Answer."),
            finish(),
        )
    )
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert "".join(c.reasoning for c in chunks) == "Think (DeepSeek, llama.cpp). Think (vLLM)."
    assert text_of(chunks) == "Answer."


def test_usage_chunk_with_empty_choices(scripted_server: ScriptedServer) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
    scripted_server.respond = Script(
        body=sse(delta("a"), delta("b"), finish("length"), {"choices": [], "usage": usage})
    )
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert chunks[-1].text == "" and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (11, 2)
    assert chunks[-2].finish_reason == "length"


def test_raw_completion_uses_text_field(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(
        body=sse(
            {"choices": [{"text": " there", "index": 0, "finish_reason": None}]},
            {"choices": [{"text": " was", "index": 0, "finish_reason": "length"}]},
        )
    )
    chunks, error = run(make_request(scripted_server.url, raw=True))
    assert error is None and text_of(chunks) == " there was"
    sent = scripted_server.last
    assert sent.path == "/completions"
    assert sent.json()["prompt"] == "Once upon a time" and "messages" not in sent.json()


@pytest.mark.parametrize("raw", [False, True])
def test_server_that_ignores_stream_and_answers_json(
    scripted_server: ScriptedServer, raw: bool
) -> None:
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    if raw:
        choice["text"] = "whole answer"
    else:
        choice["message"] = {"role": "assistant", "content": "whole answer", "reasoning": "hm"}
    answer = {"choices": [choice], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    scripted_server.respond = Script(
        headers=[("Content-Type", "application/json")],
        body=[json.dumps(answer).encode()],
        framing="length",
    )
    chunks, error = run(make_request(scripted_server.url, raw=raw))
    assert error is None and len(chunks) == 1
    assert chunks[0].text == "whole answer" and chunks[0].finish_reason == "stop"
    assert chunks[0].usage is not None and chunks[0].usage.completion_tokens == 2
    assert chunks[0].reasoning == ("" if raw else "hm")


def test_request_body_and_headers(scripted_server: ScriptedServer, secret: str) -> None:
    scripted_server.respond = Script(body=sse(delta("ok")))
    request = make_request(
        scripted_server.url + "/v1/",
        messages=(Message("system", "Be brief."), Message("user", "Hi")),
        temperature=0.0,
        max_tokens=12,
        seed=7,
        stop=("\n\n", "END"),
    )
    _, error = run(request)
    assert error is None
    sent = scripted_server.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {secret}"
    assert sent.json() == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.0,
        "max_tokens": 12,
        "seed": 7,
        "stop": ["\n\n", "END"],
    }


def test_base_url_from_environment_and_default(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert BACKEND.describe(make_request(""))["url"] == "https://api.openai.com/v1/chat/completions"
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_server.url + "/env/v1")
    scripted_server.respond = Script(body=sse(delta("ok")))
    chunks, _ = run(make_request(""))
    assert text_of(chunks) == "ok"
    assert scripted_server.last.path == "/env/v1/chat/completions"
    assert "authorization" not in scripted_server.last.headers  # no key, no header


def test_api_key_env_names_another_variable(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError) as info:
        list(BACKEND.stream(make_request(scripted_server.url, api_key_env="MY_KEY")))
    assert "$MY_KEY" in str(info.value) and scripted_server.requests == []
    monkeypatch.setenv("MY_KEY", SECRET)
    scripted_server.respond = Script(401, [("Content-Type", "application/json")], [b"{}"])
    _, error = run(make_request(scripted_server.url, api_key_env="MY_KEY"))
    assert scripted_server.last.headers["authorization"] == f"Bearer {SECRET}"
    assert isinstance(error, HTTPStatusError) and "$MY_KEY" in str(error)


# --- errors: one sentence, the URL named, the key never shown ------------------------


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert len(message) < 400
    assert SECRET not in message


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (
            401,
            [("Content-Type", "application/json")],
            json.dumps(
                {"error": {"message": f"Incorrect API key provided: {SECRET}.", "code": "x"}}
            ),
            ["HTTP 401", "Incorrect API key provided: ***", "check the API key in $OPENAI_API_KEY"],
        ),
        (
            403,
            [("Content-Type", "text/plain")],
            f"forbidden for Bearer {SECRET}",
            ["HTTP 403", "forbidden for Bearer ***", "$OPENAI_API_KEY"],
        ),
        (
            404,
            [("Content-Type", "application/json")],
            '{"detail": "Not Found"}',
            ["HTTP 404", "(Not Found)", "check the model name", "--base-url or $OPENAI_BASE_URL"],
        ),
        (
            429,
            [("Retry-After", "7"), ("Content-Type", "text/plain")],
            "",
            ["HTTP 429 Too Many Requests;", "rate limiting", "wait 7 s"],
        ),
        (
            500,
            [("Content-Type", "application/json")],
            '{"error": "CUDA out of memory"}',
            ["HTTP 500", "(CUDA out of memory)", "check its log"],
        ),
        (
            503,
            [("Content-Type", "text/html")],
            "<html><head><title>503 Service Unavailable</title></head><body>…</body></html>",
            ["HTTP 503", "(503 Service Unavailable)"],
        ),
        (
            422,
            [("Content-Type", "application/json")],
            '{"detail": [{"loc": ["body", "temperature"], "msg": "must be <= 2"}]}',
            ["HTTP 422", "(must be <= 2)", "rejected the request"],
        ),
    ],
)
def test_http_errors(
    scripted_server: ScriptedServer,
    secret: str,
    status: int,
    headers: list[tuple[str, str]],
    body: str,
    expected: list[str],
) -> None:
    scripted_server.respond = Script(status, headers, [body.encode()], framing="length")
    chunks, error = run(make_request(scripted_server.url))
    assert chunks == []
    assert isinstance(error, HTTPStatusError) and error.status_code == status
    message = str(error)
    assert_one_sentence(message)
    assert f"{scripted_server.url}/chat/completions" in message
    for part in expected:
        assert part in message
    assert secret not in repr(error)


def test_401_without_a_key_says_to_set_it(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(401, [("Content-Type", "application/json")], [b""])
    _, error = run(make_request(scripted_server.url))
    assert isinstance(error, HTTPStatusError)
    assert "no API key was sent — set $OPENAI_API_KEY" in str(error)


def test_redirect_is_explained_not_followed(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(
        307, [("Location", "https://elsewhere.example/v1/chat/completions")], []
    )
    _, error = run(make_request(scripted_server.url))
    assert isinstance(error, HTTPStatusError) and error.status_code == 307
    assert "redirects to https://elsewhere.example/v1/chat/completions" in str(error)
    assert len(scripted_server.requests) == 1


def test_connection_refused_names_url_and_what_to_do() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, error = run(make_request(f"http://127.0.0.1:{port}/v1"))
    assert isinstance(error, ConnectError)
    assert str(error) == (
        f"Could not connect to http://127.0.0.1:{port}/v1/chat/completions (connection "
        "refused); check that the server is running, or set --base-url or $OPENAI_BASE_URL."
    )


def test_credentials_in_the_url_are_not_shown(secret: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://user:{secret}@127.0.0.1:{port}/v1?api-key={secret}&x=1"
    _, error = run(make_request(url))
    assert isinstance(error, ConnectError)
    assert secret not in str(error) and "***@127.0.0.1" in str(error)


def test_unusable_url_is_a_usage_error() -> None:
    _, error = run(make_request("ftp://example.com/v1"))
    assert isinstance(error, UsageError) and "--base-url" in str(error)


def test_error_payload_mid_stream_keeps_partial_text(
    scripted_server: ScriptedServer, secret: str
) -> None:
    failure = {"error": {"message": f"context overflow for key {secret}", "type": "server"}}
    scripted_server.respond = Script(body=sse(delta("partial"), delta(" text"), failure))
    chunks, error = run(make_request(scripted_server.url))
    assert text_of(chunks) == "partial text"
    assert isinstance(error, StreamError)
    assert "context overflow for key ***" in str(error)
    assert_one_sentence(str(error))


def test_error_event_mid_stream_keeps_partial_text(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(
        body=[*sse(delta("partial"), done=False), b'event: error\ndata: {"message": "boom"}\n\n']
    )
    chunks, error = run(make_request(scripted_server.url))
    assert text_of(chunks) == "partial"
    assert isinstance(error, StreamError) and "(boom)" in str(error)


def test_malformed_json_after_good_chunks(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("fine"), done=False), b"data: {oops\n\n"])
    chunks, error = run(make_request(scripted_server.url))
    assert text_of(chunks) == "fine"
    assert isinstance(error, MalformedStreamError) and "{oops" in str(error)


def test_wrong_content_type_is_a_clear_error(scripted_server: ScriptedServer) -> None:
    page = b"<html><head><title>Welcome to nginx!</title></head></html>"
    scripted_server.respond = Script(200, [("Content-Type", "text/html")], [page])
    chunks, error = run(make_request(scripted_server.url))
    assert chunks == []
    assert isinstance(error, MalformedStreamError)
    assert "text/html" in str(error) and "Welcome to nginx!" in str(error)
    assert_one_sentence(str(error))


def test_reset_mid_stream_keeps_partial_text(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("so far"), done=False), 0.05, RESET])
    chunks, error = run(make_request(scripted_server.url))
    assert text_of(chunks) == "so far"
    assert isinstance(error, StreamError) and "broke mid-stream" in str(error)


def test_stall_past_the_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("before the stall"), done=False), STALL])
    started = time.monotonic()
    chunks, error = run(make_request(scripted_server.url, timeout=0.4))
    elapsed = time.monotonic() - started
    assert text_of(chunks) == "before the stall"
    assert isinstance(error, StreamTimeout) and "stalled for 0.4 s" in str(error)
    assert 0.35 < elapsed < 2.0
    assert scripted_server.last.closed.wait(1.0)  # and the connection was dropped


def test_no_answer_within_the_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[], head_delay=5)
    _, error = run(make_request(scripted_server.url, timeout=0.3))
    assert isinstance(error, StreamTimeout) and "sent no answer for 0.3 s" in str(error)


def test_describe_hides_the_key(secret: str) -> None:
    request = make_request("http://127.0.0.1:1/v1", temperature=0.5)
    described = BACKEND.describe(request)
    assert described["method"] == "POST"
    assert described["url"] == "http://127.0.0.1:1/v1/chat/completions"
    assert described["headers"]["Authorization"] == "Bearer ***"
    assert described["body"]["temperature"] == 0.5 and described["body"]["stream"] is True
    assert secret not in repr(described) and secret not in json.dumps(described)
    assert secret not in repr(request)
    assert secret not in repr(_generation_call(request))


# --- stopping: the server must see the connection close ------------------------------


def test_cancel_from_another_thread_closes_within_half_a_second(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.respond = Script(body=[*sse(delta("first"), done=False), STALL])
    cancel = Cancel()
    chunks: list[Chunk] = []
    stopped_at: list[float] = []

    def stop_soon() -> None:
        time.sleep(0.2)
        stopped_at.append(time.monotonic())
        cancel.request()

    for chunk in BACKEND.stream(make_request(scripted_server.url), cancel):
        chunks.append(chunk)
        threading.Thread(target=stop_soon).start()
    returned_at = time.monotonic()
    recorded = scripted_server.last
    assert text_of(chunks) == "first"
    assert recorded.closed.wait(0.5)
    assert recorded.closed_at is not None and recorded.closed_at - stopped_at[0] < 0.5
    assert returned_at - stopped_at[0] < 0.5


def test_cancel_while_waiting_for_the_first_byte(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=sse(delta("late")), head_delay=10)
    cancel = Cancel()
    requested: list[float] = []

    def stop() -> None:
        requested.append(time.monotonic())
        cancel.request()

    timer = threading.Timer(0.2, stop)
    timer.start()
    with pytest.raises(Interrupted):
        list(BACKEND.stream(make_request(scripted_server.url), cancel))
    ended = time.monotonic()
    recorded = scripted_server.last
    assert recorded.closed.wait(0.5)
    assert ended - requested[0] < 0.5
    assert recorded.closed_at is not None and recorded.closed_at - requested[0] < 0.5


def test_closing_the_generator_closes_the_connection(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("a"), delta("b"), done=False), STALL])
    stream = BACKEND.stream(make_request(scripted_server.url))
    assert next(stream).text == "a"
    closed_at = time.monotonic()
    stream.close()
    ended = time.monotonic()
    recorded = scripted_server.last
    assert recorded.closed.wait(0.5)
    assert ended - closed_at < 0.5
    assert recorded.closed_at is not None and recorded.closed_at - closed_at < 0.5


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """Python's own SIGINT handler, whatever the test run inherited.

    A job that a shell starts in the background ignores SIGINT, and then Python never
    installs the handler that raises ``KeyboardInterrupt``.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def blocked_in_read(thread_id: int) -> bool:
    """True while that thread sits in httpcore's socket read (a C call, waiting in recv)."""
    frame = sys._current_frames().get(thread_id)
    code = frame.f_code if frame is not None else None
    return code is not None and code.co_name == "read" and "httpcore" in code.co_filename


@pytest.mark.usefixtures("python_sigint")
def test_keyboard_interrupt_during_a_blocked_read(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(body=[*sse(delta("waiting"), done=False), STALL])
    main = threading.main_thread().ident
    assert main is not None and main == threading.get_ident()
    sent: list[float] = []

    def interrupt() -> None:
        # Only once the consumer really waits in recv, however loaded the machine is.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if blocked_in_read(main):
                time.sleep(0.05)
                if blocked_in_read(main):
                    sent.append(time.monotonic())
                    signal.pthread_kill(main, signal.SIGINT)
                    return
            time.sleep(0.01)

    stream = BACKEND.stream(make_request(scripted_server.url))
    assert next(stream).text == "waiting"
    threading.Thread(target=interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        next(stream)  # blocks until the signal arrives
    ended = time.monotonic()
    assert sent, "the read never blocked"
    recorded = scripted_server.last
    assert recorded.closed.wait(0.5)
    assert ended - sent[0] < 0.5
    assert recorded.closed_at is not None and recorded.closed_at - sent[0] < 0.5


class DropsAnInterrupt:
    """Interrupts its own (main) thread from ``__del__``.

    Python runs the SIGINT handler right there, inside the finalizer, and drops the
    ``KeyboardInterrupt`` ("Exception ignored in …") — as it does whenever a kernel
    interrupt lands while the main thread runs a finalizer (garbage collection of a
    generator, a socket, any ``__del__``) on its way into a read.
    """

    def __del__(self) -> None:
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)


@pytest.mark.usefixtures("python_sigint")
def test_an_interrupt_python_dropped_still_ends_the_read_as_an_interrupt(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the interrupt, the server resets the connection two seconds later.
    scripted_server.respond = Script(body=[*sse(delta("waiting"), done=False), 2.0, RESET])
    dropped: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    stream = BACKEND.stream(make_request(scripted_server.url))
    assert next(stream).text == "waiting"
    sent = time.monotonic()
    DropsAnInterrupt()  # collected at once
    assert [type(d.exc_value) for d in dropped] == [KeyboardInterrupt]
    with pytest.raises(KeyboardInterrupt):
        next(stream)  # not "the connection broke mid-stream"
    ended = time.monotonic()
    recorded = scripted_server.last
    assert recorded.closed.wait(0.5)
    assert ended - sent < 0.5
    assert recorded.closed_at is not None and recorded.closed_at - sent < 0.5


def test_models_lists_ids(scripted_server: ScriptedServer, secret: str) -> None:
    listing = {"object": "list", "data": [{"id": "zeta"}, {"id": "alpha"}]}
    scripted_server.respond = Script(
        200, [("Content-Type", "application/json")], [json.dumps(listing).encode()]
    )
    assert BACKEND.models(make_request(scripted_server.url + "/v1")) == ["alpha", "zeta"]
    assert scripted_server.last.path == "/v1/models"
    assert scripted_server.last.headers["authorization"] == f"Bearer {secret}"


# --- against llama-cpp-python's real server ------------------------------------------


@pytest.fixture(scope="session")
def official(llama_server: str) -> Iterator[Any]:
    import openai  # CI installs it: missing must fail, never skip

    with openai.OpenAI(base_url=llama_server, api_key="unused", max_retries=0) as client:
        yield client


def test_real_server_chat_matches_the_official_client(llama_server: str, official: Any) -> None:
    messages = [{"role": "user", "content": "Tell me a story about a kernel."}]
    params = {"model": "tiny", "temperature": 0, "seed": 42, "max_tokens": 40}
    whole = official.chat.completions.create(messages=messages, **params)
    streamed = official.chat.completions.create(messages=messages, stream=True, **params)
    official_text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    request = make_request(
        llama_server,
        model="tiny",
        messages=(Message("user", messages[0]["content"]),),
        temperature=0.0,
        seed=42,
        max_tokens=40,
    )
    chunks, error = run(request)
    assert error is None
    ours = text_of(chunks)
    assert len(ours) > 20
    assert ours == whole.choices[0].message.content == official_text
    assert chunks[-1].finish_reason == whole.choices[0].finish_reason == "length"
    # llama_cpp.server sends no usage in streams; one content delta is one token.
    assert len([c for c in chunks if c.text]) == whole.usage.completion_tokens == 40


def test_real_server_raw_completion_matches(llama_server: str, official: Any) -> None:
    params = {"model": "tiny", "temperature": 0, "seed": 3, "max_tokens": 30}
    whole = official.completions.create(prompt="Once upon a time", **params)
    chunks, error = run(
        make_request(llama_server, raw=True, temperature=0.0, seed=3, max_tokens=30)
    )
    assert error is None
    assert text_of(chunks) == whole.choices[0].text
    assert chunks[-1].finish_reason == "length"


def test_real_server_stop_sequence(llama_server: str, official: Any) -> None:
    params = {"model": "tiny", "temperature": 0, "seed": 1, "max_tokens": 40}
    first = official.completions.create(prompt="hello", **params).choices[0].text
    stop = first.split()[3]  # a word the model will write
    chunks, error = run(
        make_request(
            llama_server,
            raw=True,
            prompt="hello",
            temperature=0.0,
            seed=1,
            max_tokens=40,
            stop=(stop,),
        )
    )
    assert error is None
    assert text_of(chunks) == first[: first.index(stop)]
    assert chunks[-1].finish_reason == "stop"


def test_real_server_models(llama_server: str, tiny_chat_model: Path) -> None:
    assert BACKEND.models(make_request(llama_server)) == [str(tiny_chat_model)]


def _through_relay(llama_server: str) -> tuple[str, int]:
    parsed = httpx.URL(llama_server)
    return parsed.host, parsed.port or 80


def test_real_server_generator_close_hangs_up(llama_server: str) -> None:
    with Relay(_through_relay(llama_server)) as relay:
        url = f"http://127.0.0.1:{relay.port}/v1"
        stream = BACKEND.stream(make_request(url, model="tiny", max_tokens=2000))
        for _ in range(5):
            next(stream)
        closed_at = time.monotonic()
        stream.close()
        ended = time.monotonic()
        connection = relay.connections[-1]
        assert connection.closed.wait(0.5)
        assert ended - closed_at < 0.5
        assert connection.closed_at is not None and connection.closed_at - closed_at < 0.5


def test_real_server_keyboard_interrupt_in_the_consumer_hangs_up(llama_server: str) -> None:
    with Relay(_through_relay(llama_server)) as relay:
        url = f"http://127.0.0.1:{relay.port}/v1"
        raised: list[float] = []

        def consume() -> None:
            for count, _ in enumerate(BACKEND.stream(make_request(url, max_tokens=2000))):
                if count == 5:
                    raised.append(time.monotonic())
                    raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            consume()
        ended = time.monotonic()
        connection = relay.connections[-1]
        assert connection.closed.wait(0.5)
        assert ended - raised[0] < 0.5
        assert connection.closed_at is not None and connection.closed_at - raised[0] < 0.5


def test_real_server_cancel_from_another_thread(llama_server: str) -> None:
    with Relay(_through_relay(llama_server)) as relay:
        url = f"http://127.0.0.1:{relay.port}/v1"
        cancel = Cancel()
        chunks: list[Chunk] = []
        requested_at = 0.0
        for chunk in BACKEND.stream(make_request(url, max_tokens=2000), cancel):
            chunks.append(chunk)
            if len(chunks) == 5:
                requested_at = time.monotonic()
                threading.Thread(target=cancel.request).start()
        ended = time.monotonic()
        connection = relay.connections[-1]
        assert connection.closed.wait(0.5)
        assert ended - requested_at < 0.5
        assert connection.closed_at is not None and connection.closed_at - requested_at < 0.5
        assert 5 <= len(chunks) < 2000
