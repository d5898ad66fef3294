"""A live cell where only ipywidgets runs: JupyterLab and Notebook 7, nbstream's extension off.

The server's ``page_config.json`` disables nbstream's extension (what a user without the
``lab`` extra, or with it disabled, has), so what renders the answer is jupyterlab_widgets
running anywidget — the same path VS Code and Colab take. ``%load_ext nbstream``'s probe
says hello from the page; the next cell sees it. Then a ``%%llm`` cell (400 words at 100
a second from the scripted server) is seen growing in the answer view before it ends
(text appears before the end); it ends as the ordinary Markdown bundle, rendered by
JupyterLab's own Markdown renderer with no widget left; every message of the answer the
page's kernel websocket received is within 3× the final bundle's. Stop in the view
interrupts the kernel: the server is hung up on within half a second and the final
Markdown says the answer was interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from .lab import (
    LabServer,
    open_notebook,
    run_cell,
    screenshot,
    start_lab,
    wait_for_cell,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import ScriptedServer
from .test_lab_deltas import WORDS, _answer_messages, _record_messages, paced
from .test_lab_extension import _answer_state, _watch_growth

VIEW = ".nbstream-widget-answer"


@pytest.fixture(name="bare_lab", scope="module")
def bare_lab_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with start_lab(tmp_path_factory.mktemp("bare-lab"), disabled=["nbstream"]) as server:
        yield server


@pytest.fixture(name="bare_page")
def bare_page_fixture(browser: Any, bare_lab: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _output_of(page: Any, index: int) -> Any:
    return page.locator(".jp-NotebookPanel .jp-Cell").nth(index).locator(".jp-OutputArea-output")


def _markdown_of(page: Any, index: int) -> Any:
    """Cell ``index``'s output rendered by JupyterLab's own Markdown renderer."""
    cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(index)
    return cell.locator(".jp-OutputArea-output.jp-RenderedMarkdown")


@pytest.mark.parametrize("frontend", ["lab", "notebook7"])
def test_a_cell_streams_through_a_widget_when_the_extension_is_off(
    bare_lab: LabServer, bare_page: Any, frontend: str
) -> None:
    page = bare_page
    seen = _record_messages(page)
    name = f"widgethost-{frontend}.ipynb"
    with ScriptedServer(paced(WORDS, 100)) as server, ScriptedServer(paced(WORDS, 20)) as slow:
        write_notebook(
            bare_lab.root / name,
            [
                "%load_ext nbstream",
                "import nbstream._widgethost as wh, nbstream._channel as ch\n"
                "print(wh.present(), ch.present())",
                f"%%llm openai:m --base-url {server.url}/v1\nGo",
                f"%%llm openai:m --base-url {slow.url}/v1\nGo on",
            ],
        )
        open_notebook(page, bare_lab, name, frontend=frontend)
        # nbstream's extension is off: no hook, no renderer of its own.
        assert page.evaluate("() => window.__nbstream_frontend_v1__ === undefined")
        run_cell(page, 0)
        wait_for_cell(page, 0)
        run_cell(page, 1)
        wait_for_cell(page, 1)
        assert _output_of(page, 1).inner_text().strip() == "True False"

        start = len(seen)
        run_cell(page, 2)
        growth = _watch_growth(page, f"widgethost-{frontend}-streaming", frames=3)
        assert all(f["cursor"] and f["line"].startswith("● streaming") for f in growth)
        assert len(growth[0]["text"]) < len("".join(WORDS).strip())  # seen before the end
        wait_for_cell(page, 2)
        wait_for_idle(page)
        output = _markdown_of(page, 2)
        output.wait_for()
        assert page.locator(VIEW).count() == 0  # the final bundle replaced the widget
        assert "".join(WORDS).strip() in output.inner_text().replace("\n", " ")
        answer, final = _answer_messages(seen[start:])
        sent = sum(m["bytes"] for m in answer)
        kinds = [m["type"] for m in answer]
        print(f"\n{frontend}: {len(answer)} messages, {sent:,} bytes, {sent / final:.2f}×")
        assert "comm_open" in kinds and kinds[-1] == "comm_close", kinds
        assert sent <= 3 * final, (sent / final, kinds)
        screenshot(page, f"widgethost-{frontend}-done")

        run_cell(page, 3)
        _watch_growth(page, f"widgethost-{frontend}-stop", frames=2)
        stop = page.locator(f"{VIEW} .jp-nbstream-stop").last
        pressed = time.monotonic()
        stop.click()
        assert slow.requests[0].closed.wait(2)
        hung_up = (slow.requests[0].closed_at or 0) - pressed
        print(f"Stop → server hung up in {hung_up:.3f} s")
        assert hung_up < 0.5, hung_up
        wait_for_cell(page, 3)
        wait_for_idle(page)
        stopped = _markdown_of(page, 3)
        stopped.wait_for()
        assert "interrupted" in stopped.inner_text()
        assert _answer_state(page)["status"] == "none"  # no widget left
