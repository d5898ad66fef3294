"""Fault injection: every way a server can misbehave, and exactly what the user gets.

Each row is one fault played by the scripted server (a real socket) and the outcome a
user sees through the same path as ``%%llm``: the status, the text that is kept, the
error type and a phrase that only the right one-sentence message contains (a test
checks that no other row's message contains it). A row that ends in an error also
checks that the message is one sentence and that the partial text survived.

The server echoes the API key it received back in every answer — in a response header,
in error bodies, in a redirect's URL, in the answer text — as some proxies and toy
servers do, so each row also shows that the key reached the server and never reached
the user. Each row counts the requests the server received: exactly one, because
nothing is retried (see the README): a retried generation would silently replace text
the user already saw.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

import nbstream
from nbstream._exceptions import NbstreamError
from nbstream._response import Response

from .fakes import drain
from .servers.scripted import (
    RESET,
    STALL,
    Recorded,
    Script,
    ScriptedServer,
    chat_delta,
    gzipped,
    sse,
)

SECRET = "sk-faults-Hq3M7xP0"
KEY = "@KEY@"  # replaced by the key the server received, wherever it appears in a script
HERE = "@URL@"  # replaced by the server's own address
JSON = (("Content-Type", "application/json"),)
TEXT = (("Content-Type", "text/plain"),)


HELLO = sse(chat_delta("Hel"), chat_delta("lo"), chat_delta(finish="stop"))
HELLO_KEY = sse(chat_delta("Hel"), chat_delta(f"lo {KEY}"), chat_delta(finish="stop"))
DRIP = b'data: {"choices":[{"delta":{"content":"ok"}}]}\n\n'  # 50 bytes, 5 s at 10 B/s


@dataclass(frozen=True)
class Fault:
    name: str
    script: Script | None  # None: nothing listens on the port
    status: str
    text: str
    error: str | None = None
    phrase: str = ""  # only this row's message contains it
    timeout: float = 5.0


FAULTS = [
    Fault(
        "connection refused",
        None,
        "error",
        "",
        "ConnectError",
        "(connection refused); check that the server is running",
    ),
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
        "stalled for 0.5 s",
        timeout=0.5,
    ),
    Fault(
        "no answer within the timeout",
        Script(head_delay=3.0, body=HELLO),
        "error",
        "",
        "StreamTimeout",
        "sent no answer for 0.5 s",
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
        Script(401, JSON, [b'{"error": {"message": "Incorrect API key provided: @KEY@"}}']),
        "error",
        "",
        "HTTPStatusError",
        "HTTP 401 Unauthorized (Incorrect API key provided: ***); check the API key in "
        "$OPENAI_API_KEY",
    ),
    Fault(
        "403 text",
        Script(403, TEXT, [b"forbidden for @KEY@"]),
        "error",
        "",
        "HTTPStatusError",
        "HTTP 403 Forbidden (forbidden for ***)",
    ),
    Fault(
        "404 empty",
        Script(404, TEXT, [], framing="length"),
        "error",
        "",
        "HTTPStatusError",
        "HTTP 404 Not Found; check the model name",
    ),
    Fault(
        "429 Retry-After",
        Script(429, (*JSON, ("Retry-After", "7")), [b'{"error": "slow down, @KEY@"}']),
        "error",
        "",
        "HTTPStatusError",
        "rate limiting you — wait 7 s and try again",
    ),
    Fault(
        "500 JSON",
        Script(500, JSON, [b'{"error": {"message": "boom for @KEY@"}}']),
        "error",
        "",
        "HTTPStatusError",
        "HTTP 500 Internal Server Error (boom for ***)",
    ),
    Fault(
        "503 empty",
        Script(503, TEXT, [], framing="length"),
        "error",
        "",
        "HTTPStatusError",
        "HTTP 503 Service Unavailable; the server failed",
    ),
    Fault(
        "gzip-encoded stream",
        Script(
            headers=(("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip")),
            body=gzipped(b"".join(HELLO)),
        ),
        "done",
        "Hello",
    ),
    Fault(
        "HTTP/1.0 close-delimited body",
        Script(version="HTTP/1.0", framing="close", body=HELLO_KEY),
        "done",
        "Hello ***",
    ),
    Fault(
        "redirect",
        Script(307, (("Location", "@URL@/v1/moved?key=@KEY@"),), [], framing="length"),
        "error",
        "",
        "HTTPStatusError",
        "it redirects to http://127.0.0.1",  # then "…/v1/moved?key=***" (checked below)
    ),
    Fault(
        "server ignores stream and answers one JSON",
        Script(
            headers=JSON,
            framing="length",
            body=[
                json.dumps(
                    {
                        "choices": [
                            {"message": {"content": f"Whole {KEY}"}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 2},
                    }
                ).encode()
            ],
        ),
        "done",
        "Whole ***",
    ),
    Fault(
        "wrong content type",
        Script(
            headers=(("Content-Type", "text/html"),),
            body=[b"<html><title>login @KEY@</title></html>"],
        ),
        "error",
        "",
        "MalformedStreamError",
        "answered with text/html instead of an event stream",
    ),
    Fault(
        "error payload mid-stream",
        Script(body=sse(chat_delta("Hel"), {"error": {"message": f"overloaded {KEY}"}})),
        "error",
        "Hel",
        "StreamError",
        "reported an error mid-stream (overloaded ***)",
    ),
    Fault(
        "malformed JSON mid-stream",
        Script(body=[*sse(chat_delta("Hel"), done=False), b"data: {nope @KEY@\n\n"]),
        "error",
        "Hel",
        "MalformedStreamError",
        "sent an event that is not JSON in the middle of the answer",
    ),
]


@dataclass
class Outcome:
    response: Response
    error: NbstreamError | None
    received: list[Recorded]  # the requests the server got during this fault


def echoing(script: Script, url: str) -> Callable[[Recorded], Script]:
    """Answers with ``script``, the received key and address put in for the placeholders.

    The key also goes back in a response header, as a debugging proxy might send it.
    """

    def respond(request: Recorded) -> Script:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")

        def fill(text: str) -> str:
            return text.replace(KEY, key).replace(HERE, url)

        body = [
            fill(piece.decode()).encode()
            if isinstance(piece, bytes) and KEY.encode() in piece
            else piece
            for piece in script.body
        ]
        headers = [(name, fill(value)) for name, value in script.headers]
        headers.append(("X-Echo-Authorization", f"Bearer {key}"))
        return replace(script, headers=tuple(headers), body=body)

    return respond


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def outcome() -> Iterator[Callable[[Fault], Outcome]]:
    """Plays a fault (once per module: the uniqueness test reuses every row's outcome)."""
    seen: dict[str, Outcome] = {}
    with pytest.MonkeyPatch.context() as patch, ScriptedServer() as server:
        patch.setenv("OPENAI_API_KEY", SECRET)

        def play(fault: Fault) -> Outcome:
            if fault.name in seen:
                return seen[fault.name]
            if fault.script is None:
                url = f"http://127.0.0.1:{free_port()}/v1"
            else:
                server.respond = echoing(fault.script, server.url)
                url = f"{server.url}/v1"
            first = len(server.requests)
            stream = nbstream.stream("Hi", model="openai:m", base_url=url, timeout=fault.timeout)
            response, error = drain(stream)
            seen[fault.name] = Outcome(response, error, server.requests[first:])
            return seen[fault.name]

        yield play


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, outcome: Callable[[Fault], Outcome]) -> None:
    result = outcome(fault)
    response = result.response
    assert (response.status, response.text) == (fault.status, fault.text)
    if fault.script is not None:
        # The key reached the server, once: nothing is retried and no redirect followed.
        assert [r.headers.get("authorization") for r in result.received] == [f"Bearer {SECRET}"]
    assert SECRET not in repr(response)
    if fault.error is None:
        assert result.error is None and response.error is None
        return
    error = result.error
    assert error is not None and type(error).__name__ == fault.error
    message = str(error)
    assert fault.phrase in message
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    assert SECRET not in message and SECRET not in repr(error)
    assert response.error == message


def test_the_redirect_target_is_shown_without_the_key(
    outcome: Callable[[Fault], Outcome],
) -> None:
    (redirect,) = [f for f in FAULTS if f.name == "redirect"]
    message = str(outcome(redirect).error)
    # The key-like query value is masked (httpx prints the mask percent-encoded).
    assert re.search(r"/v1/moved\?key=(\*\*\*|%2A%2A%2A) — ", message), message
    assert SECRET not in message


def test_each_phrase_names_only_its_own_fault(outcome: Callable[[Fault], Outcome]) -> None:
    messages = {f.name: str(outcome(f).error or "") for f in FAULTS}
    for fault in FAULTS:
        assert bool(fault.phrase) == (fault.error is not None), fault.name
        if not fault.phrase:
            continue
        also = [
            name for name, text in messages.items() if name != fault.name and fault.phrase in text
        ]
        assert also == [], f"{fault.name!r}: its phrase is also in {also}"


def test_the_table_is_the_one_the_readme_counts() -> None:
    # README, Reliability: "18 faults against a real socket".
    assert len(FAULTS) == 18
    assert len({f.name for f in FAULTS}) == len(FAULTS)
