"""How the HTTP backends talk to servers: one shared client, timeouts, and stopping.

The OpenAI and Ollama backends differ only in URLs, bodies and the wire format; how a
request is sent, read incrementally and stopped is the same, so it lives here (and how
failures are told, in :mod:`._http_errors`; what a request is, in :mod:`._call`).

Three choices shape this module:

* **Stopping unblocks the read.** A Stop from another thread must end a read that is
  blocked in ``recv``. Closing the socket from that thread does not wake it on Linux
  (the blocked call keeps the file alive, no FIN is sent, and the read waits for the
  timeout), so ``Cancel`` *shuts the socket down* instead: the server sees the hang-up
  at once, the generating thread wakes with end-of-file, sees the stop, and closes the
  response itself in ``finally`` — no other thread ever touches httpx's state. The
  socket is captured as soon as it connects (an httpcore trace hook), so a Stop also
  works while the server is still thinking about its first byte.
* **A kernel interrupt closes too.** ``KeyboardInterrupt`` raised inside a read unwinds
  through the same ``finally``; closing a response whose body was not read to the end
  closes its connection, which is how the server learns to stop generating. Python can
  drop that exception (when its handler runs inside a finalizer), so a SIGINT also
  records the interrupt and shuts the socket (:mod:`._sigint`), and how the exchange
  ended is told from that record, not from the exception the read happened to raise:
  an interrupt is never reported as a broken connection.
* **No retries.** A retried generation costs tokens and time the user did not ask for;
  the error sentence says when trying again is the fix.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from .._exceptions import Interrupted, MalformedStreamError, NbstreamError, UsageError
from .._secrets import safe_url
from .._types import Cancel
from ._call import Call
from ._http_errors import StatusHook, excerpt, status_error, translate
from ._sigint import watching

_client: httpx.Client | None = None
_client_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The process-wide client: its pool keeps connections to each server alive.

    httpx clients are safe to share between threads; timeouts are set per request.
    """
    global _client
    with _client_lock:
        if _client is None or _client.is_closed:
            _client = httpx.Client(
                follow_redirects=False,  # a redirected POST would silently become a GET
                headers={"User-Agent": "nbstream"},
            )
        return _client


class _Abort:
    """Shuts the request's socket down when a stop is requested, from any thread.

    ``interrupted`` records that a kernel interrupt (SIGINT) arrived during the request.
    """

    def __init__(self) -> None:
        # Reentrant: the SIGINT handler calls interrupt() in the main thread, possibly
        # between two bytecodes of attach() or __call__() holding this lock.
        self._lock = threading.RLock()
        self._sockets: list[Any] = []
        self._requested = False
        self.interrupted = False

    def trace(self, name: str, info: Mapping[str, Any]) -> None:
        # httpcore calls this in the requesting thread as the connection is made.
        if name.endswith(("connect_tcp.complete", "start_tls.complete")):
            self.attach(info.get("return_value"))

    def attach(self, network_stream: Any) -> None:
        get_extra_info = getattr(network_stream, "get_extra_info", None)
        sock = get_extra_info("socket") if get_extra_info is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            requested = self._requested
        if requested:
            _shutdown(sock)

    def __call__(self) -> None:
        with self._lock:
            self._requested = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def interrupt(self) -> None:
        """A kernel interrupt arrived: remember it, and hang up as a stop would."""
        self.interrupted = True
        self()


# Which request each open response belongs to, so iter_body can tell an interrupt.
_aborts: weakref.WeakKeyDictionary[httpx.Response, _Abort] = weakref.WeakKeyDictionary()


def _shutdown(sock: Any) -> None:
    # The plain socket's shutdown, also for a TLS socket: ssl.SSLSocket.shutdown would
    # tear down TLS state that the reading thread is using.
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


@contextlib.contextmanager
def open_response(
    call: Call, cancel: Cancel | None = None, on_status: StatusHook | None = None
) -> Iterator[httpx.Response]:
    """Send ``call`` and yield the response, its body not yet read; always closes it.

    A status of 300 or more raises (:class:`HTTPStatusError` or ``on_status``'s error).
    While the block runs, ``cancel`` shuts the socket so a blocked read returns at once.
    """
    client = shared_client()
    abort = _Abort()
    try:
        request = client.build_request(
            call.method,
            call.url,
            json=call.body,
            headers=dict(call.headers),
            timeout=call.limits,
            extensions={"trace": abort.trace},
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise UsageError(
            f"{safe_url(call.url, call.secret)!r} is not a usable http(s) URL; fix {call.url_hint}."
        ) from exc
    if cancel is not None and cancel.requested:
        raise Interrupted("Stopped before the request was sent.")
    forget = cancel.on_request(abort) if cancel is not None else _nothing
    try:
        with watching(abort.interrupt):
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                if abort.interrupted:
                    raise KeyboardInterrupt from exc
                if cancel is not None and cancel.requested:
                    raise Interrupted("Stopped before the server answered.") from exc
                raise translate(exc, call, streaming=False) from exc
            _aborts[response] = abort
            try:
                abort.attach(response.extensions.get("network_stream"))
                if response.status_code >= 300:
                    raise status_error(response, call, on_status)
                yield response
            except NbstreamError as exc:
                # Whatever the read or the parser made of a hung-up socket, it was this.
                if abort.interrupted:
                    raise KeyboardInterrupt from exc
                raise
            finally:
                response.close()
            if abort.interrupted:
                raise KeyboardInterrupt  # the body "ended" because the interrupt shut it
    finally:
        forget()


def _nothing() -> None:
    pass


def iter_body(response: httpx.Response, call: Call, cancel: Cancel | None) -> Iterator[bytes]:
    """The body's bytes as they arrive (content-encoding undone), until the end or a stop.

    A requested stop ends the iteration quietly, whatever the read raised while the
    socket was being shut down: the caller owns the ``Cancel`` and knows why it ended.
    A kernel interrupt raises ``KeyboardInterrupt``, also when the read itself ended
    with an error or an end-of-file because the interrupt shut the socket.
    """
    abort = _aborts.get(response)
    if cancel is not None and cancel.requested:
        return
    try:
        for data in response.iter_bytes():
            if abort is not None and abort.interrupted:
                raise KeyboardInterrupt
            if cancel is not None and cancel.requested:
                return
            yield data
    except httpx.HTTPError as exc:
        if abort is not None and abort.interrupted:
            raise KeyboardInterrupt from exc
        if cancel is not None and cancel.requested:
            return
        raise translate(exc, call, streaming=True) from exc
    if abort is not None and abort.interrupted:
        raise KeyboardInterrupt


def read_body(response: httpx.Response, call: Call) -> bytes:
    """The whole body, with transport failures turned into nbstream errors."""
    try:
        return response.read()
    except httpx.HTTPError as exc:
        raise translate(exc, call, streaming=True) from exc


def get_json(call: Call, on_status: StatusHook | None = None) -> Any:
    """Send ``call`` and parse its JSON answer (for model lists)."""
    with open_response(call, on_status=on_status) as response:
        body = read_body(response, call)
    try:
        return json.loads(body)
    except ValueError:
        raise MalformedStreamError(
            f"{safe_url(call.url, call.secret)} answered with something that is not JSON "
            f"({excerpt(body.decode('utf-8', 'replace'), call.secret)!r}); "
            f"check {call.url_hint}."
        ) from None


__all__ = [
    "Call",
    "get_json",
    "iter_body",
    "open_response",
    "read_body",
    "shared_client",
]
