"""The fake Ollama server, checked with the official ``ollama`` client.

The backend tests trust ``tests/servers/ollama_fake.py`` to answer as Ollama does; this
module earns that trust by driving it with the client Ollama itself publishes (which
parses into strict pydantic models), and by pinning the exact bytes of a few lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import ollama
import pytest

from tests.servers.ollama_fake import OllamaFake, go_json, ollama_fake_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client(ollama_fake: OllamaFake) -> Iterator[ollama.Client]:
    with ollama.Client(host=ollama_fake.url) as client:
        yield client


def test_chat_streaming(client: ollama.Client) -> None:
    parts = list(
        client.chat(model="tiny", messages=[{"role": "user", "content": "hi there"}], stream=True)
    )
    assert "".join(p.message.content or "" for p in parts) == "You said: hi there"
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    last = parts[-1]
    assert last.done_reason == "stop"
    assert last.eval_count == len(parts) - 1
    assert last.prompt_eval_count == 2
    assert last.message.role == "assistant"


def test_chat_not_streaming(client: ollama.Client) -> None:
    answer = client.chat(model="tiny:latest", messages=[{"role": "user", "content": "ping"}])
    assert answer.message.content == "You said: ping"
    assert answer.done and answer.done_reason == "stop"
    assert answer.eval_count == 3


def test_generate_streaming_and_not(client: ollama.Client) -> None:
    streamed = list(client.generate(model="tiny", prompt="one two", stream=True))
    assert "".join(p.response or "" for p in streamed) == "You said: one two"
    assert streamed[-1].done and streamed[-1].context == [1, 2, 3]
    whole = client.generate(model="tiny", prompt="one two", raw=True)
    assert whole.response == "You said: one two"
    assert whole.context is None  # raw mode returns no context


def test_options_num_predict_and_stop(client: ollama.Client) -> None:
    short = client.generate(model="tiny", prompt="a b c d", options={"num_predict": 2})
    assert short.response == "You said:" and short.done_reason == "length"
    stopped = client.generate(model="tiny", prompt="a b c d", options={"stop": [" c"]})
    assert stopped.response == "You said: a b" and stopped.done_reason == "stop"


def test_thinking(client: ollama.Client) -> None:
    parts = list(
        client.chat(
            model="thinker",
            messages=[{"role": "user", "content": "2+2?"}],
            think=True,
            stream=True,
        )
    )
    assert "".join(p.message.thinking or "" for p in parts) == "Two plus two makes four."
    assert "".join(p.message.content or "" for p in parts) == "The answer is 4."
    generated = client.generate(model="thinker", prompt="2+2?", think=True)
    assert generated.thinking == "Two plus two makes four."
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="tiny", messages=[{"role": "user", "content": "x"}], think=True)
    assert info.value.status_code == 400
    assert "does not support thinking" in info.value.error


def test_list_and_version(client: ollama.Client, ollama_fake: OllamaFake) -> None:
    listed = client.list()
    assert [m.model for m in listed.models] == ["tiny:latest", "thinker:latest", "flaky:latest"]
    assert listed.models[0].details is not None and listed.models[0].details.format == "gguf"
    assert httpx.get(ollama_fake.url + "/api/version").json()["version"]
    assert httpx.get(ollama_fake.url + "/").text == "Ollama is running"


def test_unknown_model_is_a_404_response_error(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        list(client.chat(model="nope", messages=[{"role": "user", "content": "x"}], stream=True))
    assert info.value.status_code == 404
    assert info.value.error == 'model "nope" not found, try pulling it first'


def test_error_line_after_output(client: ollama.Client) -> None:
    seen: list[str] = []
    with pytest.raises(ollama.ResponseError) as info:
        for part in client.chat(
            model="flaky", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            seen.append(part.message.content or "")
    assert "".join(seen) == "This answer breaks"
    assert "unexpected EOF" in info.value.error
    with pytest.raises(ollama.ResponseError) as whole:
        client.chat(model="flaky", messages=[{"role": "user", "content": "x"}])
    assert whole.value.status_code == 500


def test_wire_bytes_match_ollama(ollama_fake: OllamaFake) -> None:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "<a&b>"}]}
    with httpx.stream("POST", ollama_fake.url + "/api/chat", json=body) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["transfer-encoding"] == "chunked"
        raw = response.read()
    lines = raw.split(b"\n")
    assert lines[-1] == b""  # every line ends with \n
    first = lines[0]
    assert first.startswith(b'{"model":"tiny","created_at":"')
    assert first.endswith(b'Z","message":{"role":"assistant","content":"You"},"done":false}')
    assert b"\\u003ca\\u0026b\\u003e" in raw  # Go escapes <, & and > in strings
    last = json.loads(lines[-2])
    assert list(last) == [
        "model",
        "created_at",
        "message",
        "done_reason",
        "done",
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ]
    assert go_json({"s": "\u2028é"}) == '{"s":"\\u2028é"}'.encode()


def test_runs_as_a_module() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.ollama_fake", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "listening" in process.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                with ollama.Client(host=f"127.0.0.1:{port}") as probe_client:
                    listed = probe_client.list()
                break
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert "tiny:latest" in [m.model for m in listed.models]
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
