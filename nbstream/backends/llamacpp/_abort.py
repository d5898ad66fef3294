"""Making prompt processing (prefill) interruptible.

A kernel interrupt is a ``KeyboardInterrupt`` raised between Python bytecodes, but while
llama.cpp processes a long prompt the kernel's thread sits in one C call
(``llama_decode``) for seconds, so the interrupt waits until the prompt is done. llama.cpp
offers an abort callback that it polls between the nodes of its compute graph; this
module arms it for the prefill only, and returns "abort" when a Stop (``Cancel``) or a
kernel interrupt is pending.

Two details shape it:

* The callback runs Python code in the kernel's main thread, so Python's own SIGINT
  handler would run *inside* the callback and raise ``KeyboardInterrupt`` there, where
  ctypes prints and swallows it. For the prefill window only, SIGINT gets a handler that
  just sets a flag; the callback reads it, and the interrupt is raised afterwards, in
  the token loop, as an ordinary ``KeyboardInterrupt``.
* The callback is polled once per graph node (hundreds per token). Calling into Python
  that often would slow generation, so it is disarmed as soon as the first token exists;
  from then on each token is a short C call and the normal interrupt path is fast enough.

:attr:`PrefillGuard.aborts` counts the prefills the callback cut short, so tests can
tell an interrupt that landed through the callback from one that waited for the prompt.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any, ClassVar

from ..._types import Cancel

_count_lock = threading.Lock()


class PrefillGuard:
    """``with PrefillGuard(...):`` around the first ``next()`` of ``Llama.generate``."""

    aborts: ClassVar[int] = 0
    """How many prefills the abort callback has stopped in this process."""

    def __init__(self, llama_cpp: Any, llama: Any, cancel: Cancel | None) -> None:
        self._llama_cpp = llama_cpp
        self._ctx = llama._ctx.ctx
        self._cancel = cancel
        self.interrupted = False
        self.aborted = False
        self._callback = llama_cpp.ggml_abort_callback(self._should_abort)
        self._previous_handler: Any = None
        self._installed = False

    def _should_abort(self, _data: object) -> bool:
        if self.interrupted or (self._cancel is not None and self._cancel.requested):
            self.aborted = True
            return True
        return False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True

    def __enter__(self) -> PrefillGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        self._llama_cpp.llama_set_abort_callback(self._ctx, self._callback, None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._llama_cpp.llama_set_abort_callback(
            self._ctx, self._llama_cpp.ggml_abort_callback(), None
        )
        if self._installed:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._installed = False
        if self.aborted:
            with _count_lock:
                PrefillGuard.aborts += 1
        if self.interrupted:
            # Delivered late, but delivered: the caller sees an ordinary interrupt.
            raise KeyboardInterrupt
        # llama_decode reports an abort as an error code; a requested stop is not an error.
        return bool(self.aborted and isinstance(exc, RuntimeError))
