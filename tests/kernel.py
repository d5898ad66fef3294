"""A real IPython kernel driven over ZMQ, the way JupyterLab drives it.

The magic's promises are about messages — one ``display_data``, a bounded number of
``update_display_data``, a one-line error, no ``execute_result`` — so the tests read the
kernel's IOPub messages rather than calling Python functions in-process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from queue import Empty
from typing import Any

from jupyter_client.manager import KernelManager

MIME = "application/vnd.nbstream.v1+json"


@dataclass
class Execution:
    """Everything the kernel published for one execute request."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of(self, msg_type: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] == msg_type]

    @property
    def displays(self) -> list[dict[str, Any]]:
        return self.of("display_data")

    @property
    def updates(self) -> list[dict[str, Any]]:
        return self.of("update_display_data")

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of("stream"))

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of("error")

    @property
    def final(self) -> dict[str, Any]:
        """The last bundle shown for the (single) live output."""
        shown = self.displays + self.updates
        assert shown, f"nothing displayed; messages: {self.summary()}"
        return dict(shown[-1]["content"]["data"])

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    def everything(self) -> str:
        """All messages and the reply as one JSON string (for secret searches)."""
        return json.dumps([self.reply, *self.messages], default=str)

    def summary(self) -> list[str]:
        return [m["msg_type"] for m in self.messages]


def one_line_error(execution: Execution) -> str:
    """The cell's error, checked to be one line with no traceback; returns its message."""
    assert execution.status == "error"
    (error,) = execution.errors
    lines = error["content"]["traceback"]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return str(error["content"]["evalue"])


def stamp(msg: dict[str, Any]) -> float:
    """When the kernel created ``msg`` (its header date), as a Unix time."""
    date = msg["header"]["date"]
    if isinstance(date, str):
        date = datetime.fromisoformat(date)
    return float(date.timestamp())


class Kernel:
    """One kernel process; ``run(code)`` waits for the cell to finish."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.manager = KernelManager(kernel_name="python3")
        full_env = {**os.environ, **(env or {})}
        full_env.pop("NBSTREAM_REPLAY", None)
        # ipykernel stops capturing C-level output when this is set; we want what users get.
        full_env.pop("PYTEST_CURRENT_TEST", None)
        self.manager.start_kernel(env=full_env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def submit(self, code: str) -> str:
        return str(self.client.execute(code, store_history=True))

    def collect(
        self,
        msg_id: str,
        timeout: float = 120,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> Execution:
        """The cell's messages until it is idle; ``on_message`` sees each as it comes."""
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not finish; saw {[m['msg_type'] for m in messages]}")
            try:
                msg = self.client.get_iopub_msg(timeout=remaining)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    break
                continue
            if msg["msg_type"] != "execute_input":
                messages.append(msg)
                if on_message is not None:
                    on_message(msg)
        reply = self.client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=30)
        return Execution(reply=reply, messages=messages)

    def run(self, code: str, timeout: float = 120) -> Execution:
        return self.collect(self.submit(code), timeout)

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the kernel and return it (must be JSON-able)."""
        execution = self.run(f"import json as _j; print(_j.dumps({expression}))")
        assert execution.status == "ok", execution.errors
        return json.loads(execution.stdout.strip().splitlines()[-1])

    def wait_for(self, msg_id: str, msg_type: str, timeout: float = 30) -> dict[str, Any]:
        """Read IOPub until a message of ``msg_type`` for ``msg_id``; return it (it is consumed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == msg_type:
                return dict(msg)
        raise TimeoutError(f"no {msg_type} within {timeout} s")

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
