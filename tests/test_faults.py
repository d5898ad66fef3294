"""Fault injection: every way a server can misbehave, and exactly what the user gets.

Each row is one fault played by the scripted server (a real socket) and the outcome a
user sees through the same path as ``%%llm``: the status, the text that is kept, the
error type and a phrase of its one-sentence message. A row that ends in an error also
checks that the message is one sentence, names no secret and that the partial text
survived. Nothing is retried (see the README): a retried generation would silently
replace text the user already saw.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import nbstream
from nbstream._exceptions import NbstreamError

from .servers.scripted import RESET, STALL, Script, ScriptedServer, chat_delta, gzipped, sse

SECRET = "sk-faults-Hq3M7xP0"
JSON = (("Content-Type", "application/json"),)
TEXT = (("Content-Type", "text/plain"),)


HELLO = sse(chat_delta("Hel"), chat_delta("lo"), chat_delta(finish="stop"))
HELLO_BYTES = b"".join(HELLO)
DRIP = b'data: {"choices":[{"delta":{"content":"ok"}}]}\n\n'  # 50 bytes, 5 s at 10 B/s


@dataclass(frozen=True)
class Fault:
    name: str
    script: Script | None  # None: nothing listens on the port
    status: str
    text: str
    error: str | None = None
    phrase: str = ""
    timeout: float = 5.0


FAULTS = [
    Fault("connection refused", None, "error", "", "ConnectError", "Could not connect"),
    Fault(
        "reset mid-stream",
        Script(body=[*sse(chat_delta("Hel"), done=False), 0.05, RESET]),
        "error",
        "Hel",
        "StreamError",
        "broke mid-stream",
    ),
    Fault(
        "stall past the timeout",
        Script(body=[*sse(chat_delta("Hel"), done=False), STALL]),
        "error",
        "Hel",
        "StreamTimeout",
        "",
        timeout=0.5,
    ),
    Fault(
        "no answer within the timeout",
        Script(head_delay=3.0, body=HELLO),
        "error",
        "",
        "StreamTimeout",
        "",
        timeout=0.5,
    ),
    Fault(
        "slow drip, one byte per 100 ms (the timeout is between bytes)",
        Script(body=[x for c in DRIP for x in (bytes([c]), 0.1)]),
        "done",
        "ok",
        timeout=0.5,
    ),
    Fault(
        "401 JSON",
        Script(401, JSON, [b'{"error": {"message": "bad key"}}']),
        "error",
        "",
        "HTTPStatusError",
        "OPENAI_API_KEY",
    ),
    Fault(
        "403 text", Script(403, TEXT, [b"forbidden here"]), "error", "", "HTTPStatusError", "403"
    ),
    Fault(
        "404 empty", Script(404, TEXT, [], framing="length"), "error", "", "HTTPStatusError", "404"
    ),
    Fault(
        "429 Retry-After",
        Script(429, (*JSON, ("Retry-After", "7")), [b'{"error": "slow"}']),
        "error",
        "",
        "HTTPStatusError",
        "7",
    ),
    Fault(
        "500 JSON",
        Script(500, JSON, [b'{"error": {"message": "boom"}}']),
        "error",
        "",
        "HTTPStatusError",
        "boom",
    ),
    Fault(
        "503 empty", Script(503, TEXT, [], framing="length"), "error", "", "HTTPStatusError", "503"
    ),
    Fault(
        "gzip-encoded stream",
        Script(
            headers=(("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip")),
            body=gzipped(HELLO_BYTES),
        ),
        "done",
        "Hello",
    ),
    Fault(
        "HTTP/1.0 close-delimited body",
        Script(version="HTTP/1.0", framing="close", body=HELLO),
        "done",
        "Hello",
    ),
    Fault(
        "redirect",
        Script(307, (("Location", "http://127.0.0.1:1/v1/x"),), [], framing="length"),
        "error",
        "",
        "HTTPStatusError",
        "redirect",
    ),
    Fault(
        "server ignores stream and answers one JSON",
        Script(
            headers=JSON,
            framing="length",
            body=[
                json.dumps(
                    {
                        "choices": [{"message": {"content": "Whole"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 2},
                    }
                ).encode()
            ],
        ),
        "done",
        "Whole",
    ),
    Fault(
        "wrong content type",
        Script(headers=(("Content-Type", "text/html"),), body=[b"<html>login</html>"]),
        "error",
        "",
        "MalformedStreamError",
        "text/html",
    ),
    Fault(
        "error payload mid-stream",
        Script(body=sse(chat_delta("Hel"), {"error": {"message": "overloaded"}})),
        "error",
        "Hel",
        "StreamError",
        "overloaded",
    ),
    Fault(
        "malformed JSON mid-stream",
        Script(body=[*sse(chat_delta("Hel"), done=False), b"data: {nope\n\n"]),
        "error",
        "Hel",
        "MalformedStreamError",
        "",
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    if fault.script is None:
        url = f"http://127.0.0.1:{free_port()}/v1"
    else:
        server.play(fault.script)
        url = f"{server.url}/v1"
    stream = nbstream.stream("Hi", model="openai:m", base_url=url, timeout=fault.timeout)
    error: NbstreamError | None = None
    try:
        for _ in stream:
            pass
    except NbstreamError as exc:
        error = exc
    response = stream.snapshot()
    assert (response.status, response.text) == (fault.status, fault.text)
    if fault.error is None:
        assert error is None
        return
    assert error is not None and type(error).__name__ == fault.error
    message = str(error)
    assert fault.phrase in message
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    assert SECRET not in message and SECRET not in repr(response)
    assert response.error == message


def test_the_table_covers_the_issue_list() -> None:
    # Cases tried and survived are reported in the README's Reliability section.
    assert len(FAULTS) >= 18
    assert os.environ.get("NBSTREAM_RETRY") is None  # no hidden retry switch exists
