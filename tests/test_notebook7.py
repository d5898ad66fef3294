"""Notebook 7: the same extension and widget, in the other Jupyter frontend.

Notebook 7 is built from JupyterLab's components and loads the same prebuilt
extensions, so nbstream's renderer and the anywidget chat must work there without a
separate build. This opens a notebook in Notebook 7 (served by the same server as the
JupyterLab tests, at ``/notebooks/...``), runs all its cells, and checks that the answer
is rendered by nbstream's renderer (its status line and buttons), that the chat
widget's own view appears and answers, and that nothing nbstream shows is a "failed to
display" placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .lab import LabServer, run_all, screenshot, wait_for_idle, write_notebook

N = 300


def test_renderer_and_chat_widget_in_notebook7(
    lab_server: LabServer, page: Any, tiny_model: Path
) -> None:
    spec = f"llama:{tiny_model}"
    write_notebook(
        lab_server.root / "nb7.ipynb",
        [
            "%load_ext nbstream\nimport nbstream",
            f"%%llm {spec} -t 0 -n {N}\nOnce upon a time",
            f"chat = nbstream.Chat(model={spec!r}, temperature=0, max_tokens=40)\nchat",
            "chat.send('hello')\nprint('chat:', chat.wait(60).status)",
        ],
    )
    page.goto(f"{lab_server.url}notebooks/nb7.ipynb?token={lab_server.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached")
    page.wait_for_function("() => !!window.jupyterapp && window.jupyterapp.started !== undefined")
    wait_for_idle(page, timeout=60)
    run_all(page)

    status = page.locator(".jp-nbstream-status").first
    try:
        status.wait_for(timeout=60_000)
    finally:
        screenshot(page, "notebook7-after-run", folder="notebook7")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('.jp-nbstream-status')]"
        f".some(e => e.textContent.includes('{N} tokens') && !e.textContent.includes('streaming'))",
        timeout=60_000,
    )
    assert page.locator(".jp-nbstream-copy").count() >= 1

    page.locator(".nbstream-chat").first.wait_for(timeout=60_000)
    page.wait_for_function("() => document.body.innerText.includes('chat: done')", timeout=60_000)
    body = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in body
    assert "Javascript Error" not in body
    assert page.locator(".nbstream-chat-body").first.inner_text().strip()
    print(screenshot(page, "notebook7-run", folder="notebook7"))
