"""The ``ollama:`` backend against the fake Ollama and against scripted bytes.

The fake (checked with the official client in ``test_ollama_fake.py``) answers the
questions about the API: bodies, thinking, usage, errors before and after output. The
scripted server answers the ones about bytes: Ollama's own example streams from its docs
and its client's tests (``tests/fixtures``), a UTF-8 character split across network
pieces, a last line with no newline, U+2028 inside a JSON string, a stall, a Stop.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbstream._exceptions import (
    ConnectError,
    HTTPStatusError,
    MalformedStreamError,
    ModelNotFound,
    NbstreamError,
    StreamError,
    StreamTimeout,
    UsageError,
)
from nbstream._types import Cancel, Chunk, Endpoint, Message, Request
from nbstream.backends.ollama import BACKEND, parse_host

from .servers.ollama_fake import OllamaFake, go_json, ollama_fake_fixture  # noqa: F401
from .servers.scripted import STALL, Script, ScriptedServer, scripted_server_fixture  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
NDJSON = [("Content-Type", "application/x-ndjson")]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)


def make_request(base_url: str | None, *, raw: bool = False, **changes: Any) -> Request:
    timeout = changes.pop("timeout", None)
    fields: dict[str, Any] = {
        "backend": "ollama",
        "model": "tiny",
        "messages": (Message("user", "hello there"),),
        "prompt": "hello there",
        "raw": raw,
        "endpoint": Endpoint(base_url=base_url, timeout=timeout),
    }
    fields.update(changes)
    return Request(**fields)


def run(request: Request, cancel: Cancel | None = None) -> tuple[list[Chunk], Exception | None]:
    chunks: list[Chunk] = []
    try:
        for chunk in BACKEND.stream(request, cancel):
            chunks.append(chunk)
    except NbstreamError as exc:
        return chunks, exc
    return chunks, None


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def line(**fields: Any) -> bytes:
    return go_json({"model": "m", "created_at": "2026-11-03T10:00:00Z", **fields}) + b"\n"


# --- against the fake Ollama ----------------------------------------------------------


def test_chat_stream_with_usage(ollama_fake: OllamaFake) -> None:
    chunks, error = run(make_request(ollama_fake.url))
    assert error is None
    assert text_of(chunks) == "You said: hello there"
    last = chunks[-1]
    assert last.finish_reason == "stop" and last.model == "tiny"
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 4)
    assert all(c.finish_reason is None for c in chunks[:-1])


def test_chat_request_body(ollama_fake: OllamaFake) -> None:
    request = make_request(
        ollama_fake.url,
        messages=(Message("system", "Be brief."), Message("user", "a b c")),
        temperature=0.2,
        max_tokens=50,
        seed=9,
        stop=("END",),
        options={"keep_alive": "1m", "n_threads": 4},  # unknown keys are not sent
    )
    _, error = run(request)
    assert error is None
    sent = ollama_fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/api/chat")
    assert "authorization" not in sent.headers
    assert sent.json() == {
        "model": "tiny",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "a b c"},
        ],
        "stream": True,
        "options": {"temperature": 0.2, "num_predict": 50, "seed": 9, "stop": ["END"]},
        "keep_alive": "1m",
    }


def test_raw_generate(ollama_fake: OllamaFake) -> None:
    chunks, error = run(make_request(ollama_fake.url, raw=True, prompt="one two"))
    assert error is None and text_of(chunks) == "You said: one two"
    sent = ollama_fake.requests[-1]
    assert sent.path == "/api/generate"
    assert sent.json() == {"model": "tiny", "prompt": "one two", "raw": True, "stream": True}


def test_num_predict_gives_length(ollama_fake: OllamaFake) -> None:
    chunks, _ = run(make_request(ollama_fake.url, max_tokens=2))
    assert text_of(chunks) == "You said:" and chunks[-1].finish_reason == "length"


@pytest.mark.parametrize("raw", [False, True])
def test_thinking_is_kept_apart(ollama_fake: OllamaFake, raw: bool) -> None:
    request = make_request(ollama_fake.url, model="thinker", raw=raw, options={"think": True})
    chunks, error = run(request)
    assert error is None
    assert "".join(c.reasoning for c in chunks) == "Two plus two makes four."
    assert text_of(chunks) == "The answer is 4."
    assert ollama_fake.requests[-1].json()["think"] is True


def test_unknown_model_says_ollama_pull(ollama_fake: OllamaFake) -> None:
    chunks, error = run(make_request(ollama_fake.url, model="llama9:70b"))
    assert chunks == []
    assert isinstance(error, ModelNotFound)
    assert "`ollama pull llama9:70b`" in str(error) and ollama_fake.url in str(error)


def test_error_line_after_output_keeps_partial_text(ollama_fake: OllamaFake) -> None:
    chunks, error = run(make_request(ollama_fake.url, model="flaky"))
    assert text_of(chunks) == "This answer breaks"
    assert isinstance(error, StreamError)
    assert "unexpected EOF" in str(error) and str(error).endswith(".")


def test_rejected_option_is_an_http_error(ollama_fake: OllamaFake) -> None:
    _, error = run(make_request(ollama_fake.url, options={"think": True}))
    assert isinstance(error, HTTPStatusError) and error.status_code == 400
    assert '("tiny" does not support thinking)' in str(error)


def test_models(ollama_fake: OllamaFake) -> None:
    assert BACKEND.models(make_request(ollama_fake.url)) == [
        "flaky:latest",
        "thinker:latest",
        "tiny:latest",
    ]


# --- where Ollama is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("localhost", "http://localhost:11434"),
        ("1.2.3.4:5678", "http://1.2.3.4:5678"),
        (":5678", "http://127.0.0.1:5678"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("http://example.com", "http://example.com:80"),
        ("https://example.com", "https://example.com:443"),
        ("https://example.com:8443/ollama/", "https://example.com:8443/ollama"),
        ("example.com/path", "http://example.com:11434/path"),
        ("[::1]:9999", "http://[::1]:9999"),
        ("[::]", "http://[::1]:11434"),
        ("  HTTP://Box:1  ", "http://box:1"),
    ],
)
def test_parse_host_like_the_ollama_client(given: str, expected: str) -> None:
    assert parse_host(given) == expected


def test_bad_port_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="invalid port"):
        parse_host("localhost:eleven")


def test_default_host() -> None:
    assert BACKEND.describe(make_request(None))["url"] == "http://localhost:11434/api/chat"


@pytest.mark.parametrize("form", ["127.0.0.1:{port}", "0.0.0.0:{port}", "http://127.0.0.1:{port}"])
def test_ollama_host_variable(
    ollama_fake: OllamaFake, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", form.format(port=ollama_fake.server.port))
    chunks, error = run(make_request(None))
    assert error is None and text_of(chunks) == "You said: hello there"


def test_base_url_wins_over_ollama_host(
    ollama_fake: OllamaFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    chunks, error = run(make_request(ollama_fake.url))
    assert error is None and chunks


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, error = run(make_request(f"127.0.0.1:{port}"))
    assert isinstance(error, ConnectError)
    assert str(error) == (
        f"Could not connect to http://127.0.0.1:{port}/api/chat (connection refused); check "
        "that the server is running, or set --base-url or $OLLAMA_HOST."
    )


def test_describe(ollama_fake: OllamaFake) -> None:
    described = BACKEND.describe(make_request(ollama_fake.url, temperature=0.0))
    assert described == {
        "method": "POST",
        "url": f"{ollama_fake.url}/api/chat",
        "headers": {"Content-Type": "application/json"},
        "body": {
            "model": "tiny",
            "messages": [{"role": "user", "content": "hello there"}],
            "stream": True,
            "options": {"temperature": 0.0},
        },
    }
    assert ollama_fake.requests == []  # describing sends nothing


# --- bytes on the wire ----------------------------------------------------------------


# The streams below are Ollama's own examples (tests/fixtures/README.md says where from).


@pytest.mark.parametrize("size", [1, 3, 64])
def test_documented_chat_stream(scripted_server: ScriptedServer, size: int) -> None:
    data = (FIXTURES / "ollama_chat.ndjson").read_bytes()
    scripted_server.respond = Script(
        headers=NDJSON, body=[data[i : i + size] for i in range(0, len(data), size)]
    )
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert [c.text for c in chunks] == ["The", ""]
    assert [c.finish_reason for c in chunks] == [None, "stop"]  # no done_reason: "stop"
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (26, 282)
    assert {c.model for c in chunks} == {"llama3.2"}


def test_documented_generate_stream_without_final_newline(
    scripted_server: ScriptedServer,
) -> None:
    data = (FIXTURES / "ollama_generate_no_final_newline.ndjson").read_bytes()
    assert not data.endswith(b"\n")
    scripted_server.respond = Script(headers=NDJSON, body=[data], framing="close")
    chunks, error = run(make_request(scripted_server.url, raw=True))
    assert error is None
    assert text_of(chunks) == "That's a fantastic question!"  # the done line has text too
    assert chunks[-1].text == "!" and chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is None  # that example has no metrics


def test_documented_error_mid_stream_keeps_the_text(scripted_server: ScriptedServer) -> None:
    data = (FIXTURES / "ollama_generate_error.ndjson").read_bytes()
    scripted_server.respond = Script(headers=NDJSON, body=data.splitlines(keepends=True))
    chunks, error = run(make_request(scripted_server.url, raw=True))
    assert text_of(chunks) == " Yes.Ican"
    assert isinstance(error, StreamError)
    assert "(an error was encountered while running the model)" in str(error)


def test_official_client_test_stream_without_done(scripted_server: ScriptedServer) -> None:
    # The official client's own test serves lines with no "done" at all.
    data = (FIXTURES / "ollama_python_chat_stream.ndjson").read_bytes()
    scripted_server.respond = Script(headers=NDJSON, body=data.splitlines(keepends=True))
    chunks, error = run(make_request(scripted_server.url))
    assert error is None
    assert [c.text for c in chunks] == ["I ", "don't ", "know."]
    assert all(c.finish_reason is None and c.usage is None for c in chunks)


def test_split_utf8_and_line_separator_inside_json(scripted_server: ScriptedServer) -> None:
    body = line(message={"role": "assistant", "content": "é\u2028🐉 中"}, done=False)
    body += line(message={"role": "assistant", "content": ""}, done=True, done_reason="stop")
    dragon = body.index("🐉".encode())
    cuts = (body[: dragon + 1], body[dragon + 1 : dragon + 3], body[dragon + 3 :])
    pieces: list[bytes | float] = [cuts[0], 0.02, cuts[1], cuts[2]]
    scripted_server.respond = Script(headers=NDJSON, body=pieces)
    chunks, error = run(make_request(scripted_server.url))
    assert error is None and text_of(chunks) == "é\u2028🐉 中"


def test_lines_after_done_are_not_read(scripted_server: ScriptedServer) -> None:
    body = line(response="ok", done=True, done_reason="stop") + b"not json\n"
    scripted_server.respond = Script(headers=NDJSON, body=[body])
    chunks, error = run(make_request(scripted_server.url, raw=True))
    assert error is None and text_of(chunks) == "ok"


def test_malformed_line(scripted_server: ScriptedServer) -> None:
    body = line(response="fine", done=False) + b"{broken\n"
    scripted_server.respond = Script(headers=NDJSON, body=[body])
    chunks, error = run(make_request(scripted_server.url, raw=True))
    assert text_of(chunks) == "fine" and isinstance(error, MalformedStreamError)


def test_not_ollama_404_is_not_model_not_found(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(
        404, [("Content-Type", "text/plain")], [b"404 page not found"], framing="length"
    )
    _, error = run(make_request(scripted_server.url))
    assert isinstance(error, HTTPStatusError) and not isinstance(error, ModelNotFound)
    assert "$OLLAMA_HOST" in str(error)


def test_wrong_content_type(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(200, [("Content-Type", "text/html")], [b"<h1>hi</h1>"])
    _, error = run(make_request(scripted_server.url))
    assert isinstance(error, MalformedStreamError) and "text/html" in str(error)


def test_stall_past_the_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(headers=NDJSON, body=[line(response="a", done=False), STALL])
    chunks, error = run(make_request(scripted_server.url, raw=True, timeout=0.3))
    assert text_of(chunks) == "a" and isinstance(error, StreamTimeout)


def test_cancel_from_another_thread_closes_within_half_a_second() -> None:
    with OllamaFake(token_delay=0.05) as fake:
        cancel = Cancel()
        chunks: list[Chunk] = []
        requested_at = 0.0
        for chunk in BACKEND.stream(make_request(fake.url, model="thinker"), cancel):
            chunks.append(chunk)
            if len(chunks) == 2:
                requested_at = time.monotonic()
                threading.Thread(target=cancel.request).start()
        ended = time.monotonic()
        recorded = fake.requests[-1]
        assert recorded.closed.wait(0.5)
        assert ended - requested_at < 0.5
        assert recorded.closed_at is not None and recorded.closed_at - requested_at < 0.5
        assert len(chunks) <= 3


def test_closing_the_generator_closes_the_connection(scripted_server: ScriptedServer) -> None:
    scripted_server.respond = Script(headers=NDJSON, body=[line(response="a", done=False), STALL])
    stream = BACKEND.stream(make_request(scripted_server.url, raw=True))
    assert next(stream).text == "a"
    closed_at = time.monotonic()
    stream.close()
    ended = time.monotonic()
    recorded = scripted_server.last
    assert recorded.closed.wait(0.5)
    assert ended - closed_at < 0.5
    assert recorded.closed_at is not None and recorded.closed_at - closed_at < 0.5
