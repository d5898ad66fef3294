"""A real HTTP server on 127.0.0.1 that plays scripted bytes, for backend tests.

Streaming bugs live at the byte level: where the network splits a UTF-8 character or a
CRLF, whether the body is chunked or ends when the connection closes, a server that
stalls, resets or forgets the last blank line. So a :class:`Script` is a status, headers
and a list of *pieces* — bytes sent as they are (one HTTP chunk each when chunked), or
pauses — played on a raw socket, with no HTTP library in between to tidy it up.

Every request is recorded (method, path, headers, body), together with *when the client
closed the connection*: the server watches the socket while it pauses or stalls, so a
test can assert that a Stop or an interrupt really hung up on the server, and how fast.

Use it as a context manager or through the ``scripted_server`` fixture::

    with ScriptedServer(Script(body=[b"data: 1\\n\\n", 0.1, STALL])) as server:
        ...  # server.url, server.requests[0].closed.wait(0.5)
"""

from __future__ import annotations

import gzip
import json
import select
import socket
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Literal

import pytest


class _Stall:
    def __repr__(self) -> str:
        return "STALL"


class _Reset:
    def __repr__(self) -> str:
        return "RESET"


STALL: Any = _Stall()
"""Piece: send nothing more and hold the connection open until the client closes it."""
RESET: Any = _Reset()
"""Piece: abort the connection with a TCP reset."""

Piece = bytes | float | int | _Stall | _Reset


@dataclass
class Script:
    """What to answer: ``framing`` is ``chunked``, ``length`` (Content-Length) or ``close``.

    Numbers among ``body`` pieces are pauses in seconds. Headers are sent as given;
    the framing header (and ``Connection: close`` for ``close``) is added.
    ``head_delay`` holds the status line back, like a server busy before answering.
    """

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("Content-Type", "text/event-stream"),)
    body: Sequence[Piece] = ()
    framing: Literal["chunked", "length", "close"] = "chunked"
    reason: str | None = None
    version: str = "HTTP/1.1"
    head_delay: float = 0.0


@dataclass
class Recorded:
    """One request as the server received it, and what became of its connection."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    closed: threading.Event = field(default_factory=threading.Event, repr=False)
    closed_at: float | None = None
    finished_at: float | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()


Responder = Callable[[Recorded], Script]


def sse(*events: str | dict[str, Any], done: bool = True) -> list[bytes]:
    """``data:`` events, one piece each, then ``[DONE]`` if asked.

    Dicts become JSON with raw UTF-8 (as OpenAI sends it), so multibyte characters are
    really multibyte on the wire.
    """
    pieces = [
        f"data: {json.dumps(e, ensure_ascii=False) if isinstance(e, dict) else e}\n\n".encode()
        for e in events
    ]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return pieces


def chat_delta(text: str = "", finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One OpenAI-style ``chat.completion.chunk`` (``extra`` goes into the delta)."""
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text, **extra}, "finish_reason": finish}],
    }


def answer(*pieces: str) -> Script:
    """A whole OpenAI-style answer: a role-only first chunk, ``pieces``, a stop, ``[DONE]``."""
    events: list[dict[str, Any]] = [chat_delta(role="assistant")]
    events += [chat_delta(p) for p in pieces]
    events.append(chat_delta(finish="stop"))
    return Script(body=sse(*events))


def gzipped(data: bytes, piece_size: int = 7) -> list[bytes]:
    """``data`` gzip-compressed and cut into small pieces (send with Content-Encoding)."""
    packed = gzip.compress(data)
    return [packed[i : i + piece_size] for i in range(0, len(packed), piece_size)]


class ScriptedServer:
    """Answers every request with the next queued script, else with ``respond``."""

    def __init__(self, respond: Script | Responder | None = None, port: int = 0) -> None:
        self.respond: Script | Responder = respond or Script()
        self.requests: list[Recorded] = []
        self._queue: deque[Script] = deque()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _TCPServer(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def play(self, *scripts: Script) -> None:
        """Answer the next requests with these scripts, in order."""
        with self._lock:
            self._queue.extend(scripts)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def wait_for_request(self, count: int = 1, timeout: float = 5.0) -> Recorded:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.requests)} requests arrived")
            time.sleep(0.005)
        return self.requests[count - 1]

    def _script_for(self, recorded: Recorded) -> Script:
        with self._lock:
            self.requests.append(recorded)
            if self._queue:
                return self._queue.popleft()
        return self.respond if isinstance(self.respond, Script) else self.respond(recorded)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    owner: ScriptedServer


class _Handler(socketserver.BaseRequestHandler):
    request: socket.socket
    server: _TCPServer

    def setup(self) -> None:
        self.buffer = b""
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        owner = self.server.owner
        previous: Recorded | None = None
        while not owner._stopping.is_set():
            recorded = self._read_request(previous)
            if recorded is None:
                return
            script = owner._script_for(recorded)
            keep_open = self._play(script, recorded)
            recorded.finished_at = time.monotonic()
            if not keep_open:
                return
            previous = recorded

    def _recv(self, previous: Recorded | None) -> bytes:
        """Wait for bytes; an empty result means the client closed the connection."""
        while not self.server.owner._stopping.is_set():
            ready, _, _ = select.select([self.request], [], [], 0.05)
            if ready:
                try:
                    data = self.request.recv(65536)
                except OSError:
                    data = b""
                if not data and previous is not None:
                    previous.mark_closed()
                return data
        return b""

    def _read_request(self, previous: Recorded | None) -> Recorded | None:
        while b"\r\n\r\n" not in self.buffer:
            data = self._recv(previous)
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            data = self._recv(None)
            if not data:
                return None
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Recorded(method, path, headers, body, received_at=time.monotonic())

    def _play(self, script: Script, recorded: Recorded) -> bool:
        """Send the script; True if the connection may carry another request."""
        reason = script.reason or _reason(script.status)
        head = [f"{script.version} {script.status} {reason}"]
        head += [f"{name}: {value}" for name, value in script.headers]
        names = {name.lower() for name, _ in script.headers}
        if "date" not in names:
            head.append(f"Date: {formatdate(usegmt=True)}")
        pieces = list(script.body)
        if script.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
        elif script.framing == "length" and "content-length" not in names:
            size = sum(len(p) for p in pieces if isinstance(p, bytes))
            head.append(f"Content-Length: {size}")
        elif script.framing == "close":
            head.append("Connection: close")
        if script.head_delay and self._watch(script.head_delay, recorded):
            return False
        try:
            self.request.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            for piece in pieces:
                if isinstance(piece, bytes):
                    if not piece:
                        continue
                    if script.framing == "chunked":
                        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                    self.request.sendall(piece)
                elif isinstance(piece, int | float):
                    if self._watch(piece, recorded):
                        return False
                elif piece is STALL:
                    self._watch(60.0, recorded)
                    return False
                elif piece is RESET:
                    self.request.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.request.close()
                    return False
            if script.framing == "chunked":
                self.request.sendall(b"0\r\n\r\n")
        except OSError:
            recorded.mark_closed()
            return False
        return script.framing != "close"

    def _watch(self, seconds: float, recorded: Recorded) -> bool:
        """Pause, noticing if the client hangs up meanwhile; True if it did."""
        deadline = time.monotonic() + seconds
        owner = self.server.owner
        while not owner._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.request], [], [], min(left, 0.05))
            if ready:
                try:
                    data = self.request.recv(65536, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    recorded.mark_closed()
                    return True
                time.sleep(min(left, 0.01))  # a pipelined request: leave it for later
        return False


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@pytest.fixture(name="scripted_server")
def scripted_server_fixture() -> Iterator[ScriptedServer]:
    """A started :class:`ScriptedServer`; set ``.respond`` or call ``.play()``."""
    with ScriptedServer() as server:
        yield server


__all__ = [
    "RESET",
    "STALL",
    "Recorded",
    "Script",
    "ScriptedServer",
    "gzipped",
    "scripted_server_fixture",
    "sse",
]
