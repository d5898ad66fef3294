"""IPython's own shell, in this process: the quick layer beside the real-kernel tests.

A real kernel (:mod:`tests.kernel`) costs seconds to start and each cell a round trip over
ZMQ. Most of what ``%%llm`` promises is decided before any of that matters: how options
parse, which errors show as one line, what lands in ``_llm`` or ``-o NAME``, what
``--dry-run`` shows. :class:`Shell` runs cells in an ``InteractiveShell`` here and keeps
what it publishes in the kernel's message shapes (``display_data``,
``update_display_data``, ``error``, ``stream``), as an :class:`~tests.kernel.Execution`,
so a test reads the same fields a kernel test does. ``_showtraceback`` is where ipykernel's
own shell turns an exception into its ``error`` message; here it keeps it.

A shell is made per test (tens of milliseconds) and torn down after it, with the
process-wide state it touched put back: the singleton, ``sys.modules["__main__"]``, the
builtins it adds, and its ``atexit`` hook. Use it through the ``shell`` fixture
(tests/conftest.py), which also restores nbstream's registry.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import io
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from .kernel import Execution

Messages = list[dict[str, Any]]


class CapturingPublisher(DisplayPublisher):
    """Keeps each display as the message ipykernel would send for it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: Messages = []

    def publish(  # type: ignore[override]
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        content = {"data": data, "metadata": metadata or {}, "transient": transient or {}}
        kind = "update_display_data" if update else "display_data"
        self.messages.append({"msg_type": kind, "content": content})


class CapturingShell(InteractiveShell):  # type: ignore[misc]
    """An ``InteractiveShell`` whose tracebacks become ``error`` messages, as in ipykernel."""

    def _showtraceback(self, etype: type[BaseException], evalue: BaseException, stb: Any) -> None:
        content = {"ename": etype.__name__, "evalue": str(evalue), "traceback": list(stb)}
        self.display_pub.messages.append({"msg_type": "error", "content": content})


class Shell:
    """A fresh in-process shell with ``%load_ext nbstream``; ``run()`` a cell, read it back."""

    def __init__(self) -> None:
        config = Config()
        config.HistoryManager.enabled = False
        self._saved_main = sys.modules.get("__main__")
        self._saved_builtins = {k: builtins.__dict__.get(k) for k in ("__IPYTHON__", "display")}
        self.ipython = CapturingShell.instance(config=config, display_pub_class=CapturingPublisher)
        self._running = False
        loaded = self.run("%load_ext nbstream")
        assert loaded.status == "ok", loaded.errors

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the notebook's namespace."""
        return eval(expression, self.ipython.user_ns)

    def run(
        self, code: str, *, interrupt_when: Callable[[Messages], bool] | None = None
    ) -> Execution:
        """Run one cell; with ``interrupt_when``, send SIGINT to this thread once it holds,
        the way a kernel interrupt arrives."""
        published: Messages = self.ipython.display_pub.messages
        start = len(published)
        stdout = io.StringIO()
        interrupter = None
        previous = signal.getsignal(signal.SIGINT)
        if interrupt_when is not None:
            signal.signal(signal.SIGINT, self._on_sigint)
            interrupter = threading.Thread(
                target=self._interrupt,
                args=(lambda: interrupt_when(published[start:]), threading.get_ident()),
                daemon=True,
            )
        self._running = True
        try:
            if interrupter is not None:
                interrupter.start()
            with contextlib.redirect_stdout(stdout):
                result = self.ipython.run_cell(code, store_history=False)
        finally:
            self._running = False
            if interrupter is not None:
                interrupter.join()
                signal.signal(signal.SIGINT, previous)
        messages = list(published[start:])
        if stdout.getvalue():
            messages.append({"msg_type": "stream", "content": {"text": stdout.getvalue()}})
        status = "ok" if result.success else "error"
        return Execution(reply={"content": {"status": status}}, messages=messages)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._running:  # a signal that comes late must not end the test session
            raise KeyboardInterrupt

    @staticmethod
    def _interrupt(ready: Callable[[], bool], thread_id: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.005)
        # To the cell's thread itself: a signal to the process may wake another thread.
        signal.pthread_kill(thread_id, signal.SIGINT)

    def close(self) -> None:
        atexit.unregister(self.ipython.atexit_operations)
        CapturingShell.clear_instance()
        if self._saved_main is not None:
            sys.modules["__main__"] = self._saved_main
        for name, value in self._saved_builtins.items():
            if value is None:
                builtins.__dict__.pop(name, None)
            else:
                builtins.__dict__[name] = value

    def __enter__(self) -> Shell:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
