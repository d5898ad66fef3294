"""A live cell in JupyterLab with the extension: only new text crosses the wire.

The page counts every frame its kernel websocket receives while a ``%%llm`` cell streams
400 words at 100 a second from the scripted server. With the extension's hello done
(``%load_ext nbstream`` in the first cell), the cell sends its first bundle, deltas and
the final bundle: at most 3× the final bundle's frame, against ~40× when every update
carried the whole answer. The answer is seen growing, ends done, and its DOM is the one
the final bundle gives on its own (the notebook saved and reopened). The same
notebook's second live answer is stopped with Stop, within half a second.
"""

from __future__ import annotations

import time
from typing import Any

from .lab import LabServer, open_notebook, run_cell, save, wait_for_idle, write_notebook
from .servers.scripted import Script, ScriptedServer, chat_delta, sse
from .test_lab_extension import ANSWER, _answer_state, _press_stop, _watch_growth

WORDS = [f"word{i % 97} " for i in range(400)]


def paced(words: list[str], per_second: float) -> Script:
    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for word in words:
        body += [*sse(chat_delta(word), done=False), 1 / per_second]
    body += sse(chat_delta(finish="stop"))
    return Script(body=body)


def _count_frames(page: Any) -> list[int]:
    sizes: list[int] = []

    def on_socket(ws: Any) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framereceived", lambda payload: sizes.append(len(payload)))

    page.on("websocket", on_socket)
    return sizes


def test_live_cell_sends_deltas_and_ends_with_the_final_dom(
    lab_server: LabServer, page: Any
) -> None:
    frames = _count_frames(page)
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
        wait_for_idle(page)
        # The hello was queued while %load_ext ran: the very next cell sees it.
        run_cell(page, 1)
        wait_for_idle(page)
        assert page.locator(".jp-OutputArea-output").nth(0).inner_text().strip() == "True"

        start = len(frames)
        began = time.monotonic()
        run_cell(page, 2)
        growth = _watch_growth(page, "deltas-streaming", frames=4)
        assert all(f["cursor"] and f["line"].startswith("● streaming") for f in growth)
        page.wait_for_selector(f'{ANSWER}[data-status="done"]', timeout=60_000)
        wait_for_idle(page)
        received = frames[start:]
        done = _answer_state(page)
        assert done["text"].strip() == "".join(WORDS).strip() and not done["cursor"]
        seconds = time.monotonic() - began
        ratio = sum(received) / max(received)
        print(f"\n{len(received)} frames, {sum(received):,} bytes, {ratio:.2f}× the largest")
        # At most 3× the final bundle, plus the README's floor: a piece at least once a
        # second while text arrives (~0.7 KB), which only a slow (or slowed) stream reaches.
        assert sum(received) <= 3 * max(received) + 700 * seconds, (ratio, seconds)

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
