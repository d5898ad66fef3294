"""Noticing a kernel interrupt during an HTTP exchange, even when its exception is lost.

A kernel interrupt is a SIGINT, which Python's handler turns into ``KeyboardInterrupt``
at the next bytecode of the main thread. Usually that bytecode is in the blocked read,
and the exception unwinds through the response's ``finally``, which hangs up. But when
the handler happens to run inside a finalizer — a ``__del__``, a garbage-collected
generator's cleanup, a weakref callback, all of which the main thread runs at arbitrary
moments — Python prints "Exception ignored in …" and *drops* the exception. The main
thread then walks into the read and blocks until the server ends the stream, and that
ending was reported as a broken connection: an interrupt that looked like a network
failure, seconds or minutes late.

So while a request is open in the main thread, SIGINT goes through :func:`watching`'s
handler first: it calls the request's callback (which records the interrupt and shuts
the socket down, like a Stop), then raises ``KeyboardInterrupt`` exactly as Python's own
handler does. Whatever then ends the read — that exception, or the end-of-file from the
shut socket if the exception was dropped — the request knows it was interrupted, and
says so with a ``KeyboardInterrupt`` of its own.

Only Python's default handler is wrapped. A program that installed its own SIGINT
handler chose what an interrupt means; it is left alone. Outside the main thread there
is nothing to do (signals are handled in the main thread only).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

_callbacks: list[Callable[[], object]] = []


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    for callback in tuple(_callbacks):
        # Best effort: the KeyboardInterrupt below must be raised whatever happens.
        with contextlib.suppress(Exception):
            callback()
    signal.default_int_handler(signum, frame)


@contextlib.contextmanager
def watching(callback: Callable[[], object]) -> Iterator[None]:
    """While the block runs, a SIGINT calls ``callback`` before raising ``KeyboardInterrupt``.

    ``callback`` runs in the main thread, between two bytecodes of whatever it was doing:
    it must only set flags and make system calls, never take a lock that code could hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    current = signal.getsignal(signal.SIGINT)
    if current is not _on_sigint and current is not signal.default_int_handler:
        yield
        return
    _callbacks.append(callback)
    if current is not _on_sigint:
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        _callbacks.remove(callback)
        # A handler left installed with no callbacks is the default one in effect, so a
        # cleanup that runs in another thread (a generator closed there) may skip this.
        if (
            not _callbacks
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _on_sigint
        ):
            signal.signal(signal.SIGINT, signal.default_int_handler)


__all__ = ["watching"]
