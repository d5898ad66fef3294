"""A live cell in JupyterLab with the extension: only new text crosses the wire.

The page counts every frame its kernel websocket receives while a ``%%llm`` cell streams
400 words at 100 a second from the scripted server. With the extension's hello done
(``%load_ext nbstream`` in the first cell), the cell sends its first bundle, deltas and
the final bundle: at most 3× the final bundle's frame, against ~40× when every update
carried the whole answer. The answer is seen growing, ends done, and its DOM is the one
the final bundle gives on its own (the notebook saved and reopened). The same
notebook's second live answer is stopped with Stop, within half a second.

*Run All* on a fresh kernel queues the streaming cell behind ``%load_ext`` before any
hello can come on the main shell; the extension's second hello, on a subshell, reaches
the kernel while the cell runs, so that cell's answer is within 3× too, and the kernel's
comm machinery logs nothing (no "No such comm target", no "No such comm").
"""

from __future__ import annotations

import json
import time
from typing import Any

from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

from .kernel import MIME
from .lab import (
    LabServer,
    open_notebook,
    run_all,
    run_cell,
    save,
    shutdown_kernels,
    wait_for_cell,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import Script, ScriptedServer, chat_delta, sse
from .test_lab_extension import ANSWER, _answer_state, _press_stop, _watch_growth

WORDS = [f"word{i % 97} " for i in range(400)]


def paced(words: list[str], per_second: float) -> Script:
    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for word in words:
        body += [*sse(chat_delta(word), done=False), 1 / per_second]
    body += sse(chat_delta(finish="stop"))
    return Script(body=body)


def test_live_cell_sends_deltas_and_ends_with_the_final_dom(
    lab_server: LabServer, page: Any
) -> None:
    seen = _record_messages(page)
    with ScriptedServer(paced(WORDS, 100)) as server, ScriptedServer(paced(WORDS, 20)) as slow:
        write_notebook(
            lab_server.root / "deltas.ipynb",
            [
                "%load_ext nbstream",
                "import nbstream._channel as ch; print(ch.present())",
                f"%%llm openai:m --base-url {server.url}/v1\nGo",
                f"%%llm openai:m --base-url {slow.url}/v1\nGo on",
            ],
        )
        open_notebook(page, lab_server, "deltas.ipynb")
        run_cell(page, 0)
        wait_for_cell(page, 0)
        # The hello was queued while %load_ext ran: the very next cell sees it.
        run_cell(page, 1)
        wait_for_cell(page, 1)
        assert page.locator(".jp-OutputArea-output").nth(0).inner_text().strip() == "True"

        start = len(seen)
        began = time.monotonic()
        run_cell(page, 2)
        growth = _watch_growth(page, "deltas-streaming", frames=4)
        assert all(f["cursor"] and f["line"].startswith("● streaming") for f in growth)
        page.wait_for_selector(f'{ANSWER}[data-status="done"]', timeout=60_000)
        wait_for_idle(page)
        done = _answer_state(page)
        assert done["text"].strip() == "".join(WORDS).strip() and not done["cursor"]
        seconds = time.monotonic() - began
        answer, final = _answer_messages(seen[start:])
        sent = sum(m["bytes"] for m in answer)
        others = [(m["channel"], m["type"]) for m in seen[start:] if m not in answer]
        print(f"\n{len(answer)} messages, {sent:,} bytes, {sent / final:.2f}× the final")
        print("besides:", others)
        # At most 3× the final bundle, whatever the rate.
        assert sent <= 3 * final, (sent / final, seconds)

        markdown = f"{ANSWER} > .jp-nbstream-markdown"
        live_dom = page.locator(markdown).first.inner_html()

        # Stop on a live answer that streams with deltas.
        run_cell(page, 3)
        _watch_growth(page, "deltas-stop", frames=2)
        pressed, took = _press_stop(page)
        assert slow.requests[0].closed.wait(2)
        hung_up = (slow.requests[0].closed_at or 0) - pressed
        print(f"Stop → server hung up in {hung_up:.3f} s; interrupted and idle in {took:.3f} s")
        assert hung_up < 0.5, hung_up
        assert _answer_state(page)["line"].startswith("■ interrupted")

    save(page)
    page.goto("about:blank")
    open_notebook(page, lab_server, "deltas.ipynb", kernel=False)
    page.wait_for_selector(f'{ANSWER}[data-status="done"]')
    assert page.locator(markdown).first.inner_html() == live_dom


WIRE_TYPES = {"display_data", "update_display_data", "comm_open", "comm_msg", "comm_close"}


def _record_messages(page: Any) -> list[dict[str, Any]]:
    """Every message the page's kernel websockets receive: channel, type, parent, bytes."""
    seen: list[dict[str, Any]] = []

    def on_frame(payload: Any) -> None:
        if isinstance(payload, str):  # the JSON protocol
            msg = json.loads(payload)
            channel, parts = msg.get("channel"), msg
        else:
            channel, frames = deserialize_msg_from_ws_v1(payload)
            keys = ("header", "parent_header", "metadata", "content")
            parts = {key: json.loads(frame) for key, frame in zip(keys, frames, strict=False)}
        seen.append(
            {
                "channel": channel,
                "type": parts["header"].get("msg_type"),
                "parent": parts["parent_header"].get("msg_id"),
                "content": parts.get("content", {}),
                "bytes": len(payload),
            }
        )

    def on_socket(ws: Any) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return seen


# What the kernel's comm machinery logs ("No such comm target registered", "No such
# comm"), kept where a cell can print it: the kernel's own stderr does not show it.
KEEP_COMM_LOG = """import logging
_comm_log = []
class _Keep(logging.Handler):
    def emit(self, record):
        _comm_log.append(record.getMessage())
for _name in ("Comm", "ipykernel.comm"):
    logging.getLogger(_name).addHandler(_Keep(logging.WARNING))"""


def _answer_messages(seen: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The IOPub messages of the (one) live answer in ``seen``, and its final bundle's bytes."""
    (shown,) = [m for m in seen if m["type"] == "display_data" and MIME in m["content"]["data"]]
    answer = [
        m
        for m in seen
        if m["channel"] == "iopub" and m["parent"] == shown["parent"] and m["type"] in WIRE_TYPES
    ]
    final = [m for m in answer if m["type"] == "update_display_data"][-1]
    return answer, int(final["bytes"])


def test_run_all_after_load_ext_streams_with_deltas(lab_server: LabServer, page: Any) -> None:
    shutdown_kernels(lab_server)  # a fresh kernel: no hello yet
    seen = _record_messages(page)
    with ScriptedServer(paced(WORDS, 100)) as server:
        write_notebook(
            lab_server.root / "runall.ipynb",
            [
                KEEP_COMM_LOG,
                "%load_ext nbstream",
                f"%%llm openai:m --base-url {server.url}/v1\nGo",
                "print(_comm_log)",
            ],
        )
        open_notebook(page, lab_server, "runall.ipynb")
        wait_for_idle(page)
        run_all(page)
        page.wait_for_selector(f'{ANSWER}[data-status="done"]', timeout=60_000)
        wait_for_idle(page)
    done = _answer_state(page)
    assert done["text"].strip() == "".join(WORDS).strip()
    answer, final = _answer_messages(seen)
    sent = sum(m["bytes"] for m in answer)
    kinds = [m["type"] for m in answer]
    print(f"\nRun All: {len(answer)} messages, {sent:,} bytes, {sent / final:.2f}× the final")
    print(kinds)
    assert "comm_open" in kinds, kinds  # the answer went over to deltas
    assert sent <= 3 * final, (sent, final, kinds)
    # Neither hello met a comm or a target the kernel did not know.
    kept = page.locator(".jp-NotebookPanel .jp-Cell").nth(3).locator(".jp-OutputArea-output")
    assert kept.inner_text().strip() == "[]"
