"""The JupyterLab extension as a user meets it: a real JupyterLab, Chromium, a kernel.

Two answers are streamed. One comes from the in-kernel tiny model (``llama:``), which is
fast — thousands of tokens a second — so it shows that the renderer keeps up and that
Stop interrupts llama.cpp's loop in the kernel. The other comes from an OpenAI-compatible
server on 127.0.0.1 (:mod:`tests.servers.scripted`) that answers with real Markdown —
reasoning, a heading, emphasis, code blocks, and HTML a model should never get to run —
at a realistic pace (a piece every 40 ms), then keeps the stream open, the way a remote
model streams; Stop has to hang up on it. That answer is then saved, reopened untrusted
without its kernel, and must still render the same way.

Screenshots of every step go to ``$NBSTREAM_ARTIFACTS/lab`` (default ``artifacts/lab``);
the folder is printed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.sign import NotebookNotary
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .lab import (
    LabServer,
    artifacts_dir,
    kernel_state,
    open_notebook,
    run_cell,
    save,
    screenshot,
    shutdown_kernels,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import STALL, Script, ScriptedServer, sse

ANSWER = ".jp-nbstream-answer"
MARKDOWN = f"{ANSWER} .jp-nbstream-markdown"

REASONING = ["The user wants ", "a *short* example. ", "Show code."]
ANSWER_PIECES = [
    "# Reading ",
    "a CSV\n\n",
    "Use **pan",
    "das**: it ",
    "reads the ",
    "file in *one",
    "* call.\n\n",
    "```py",
    "thon\nimport ",
    "pandas as pd\n",
    "df = pd.read",
    "_csv('data.csv')\n",
    "```\n\n",
    "Then look ",
    "at `df.he",
    'ad()`. <img src=x onerror="window.__nbstreamPwned = 1"> ',
    "<script>window.__nbstreamPwned = 2</script>",
    "See [the docs](javascript:window.__nbstreamPwned=3) ",
    "or [pandas.pydata.org](https://pandas.pydata.org).\n\n",
    "- one\n",
    "- two\n\n",
    "More ",
    "text ",
    "that ",
    "keeps ",
    "coming ",
]


def _chunk(**delta: str) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}


def _markdown_stream() -> Script:
    body: list[Any] = [*sse(_chunk(role="assistant", content=""), done=False)]
    for piece in REASONING:
        body += [*sse(_chunk(reasoning_content=piece), done=False), 0.04]
    for piece in ANSWER_PIECES:
        body += [*sse(_chunk(content=piece), done=False), 0.04]
    # Slower from here, like a long answer; the test presses Stop before the end.
    body += [*sse(_chunk(content="word "), done=False), 0.2] * 100
    body.append(STALL)
    return Script(body=body)


def _answer_state(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """(sel) => {
                const answers = document.querySelectorAll(sel.answer);
                const answer = answers[answers.length - 1];
                if (!answer) return {text: '', status: 'none', cursor: false, line: ''};
                const md = answer.querySelector(':scope > .jp-nbstream-markdown');
                return {
                    text: md.textContent,
                    status: answer.dataset.status || '',
                    cursor: !!answer.querySelector('.jp-nbstream-cursor'),
                    line: answer.querySelector('.jp-nbstream-status').textContent,
                    firstMarked: !!md.querySelector('h1[data-test-mark]'),
                };
            }""",
            {"answer": ANSWER},
        )
    )


def _watch_growth(page: Any, name: str, frames: int = 3, timeout: float = 30) -> list[dict]:
    """Sample the live answer until it was seen streaming at ``frames`` growing lengths."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < frames:
        assert time.monotonic() < deadline, f"the answer did not grow: {seen}"
        state = _answer_state(page)
        growing = not seen or len(state["text"]) > len(seen[-1]["text"])
        if state["status"] == "streaming" and state["text"].strip() and growing:
            seen.append(state)
            page.locator(f"{ANSWER} .jp-nbstream-footer").last.scroll_into_view_if_needed()
            screenshot(page, f"{name}-frame-{len(seen)}")
        page.wait_for_timeout(30)
    return seen


def _press_stop(page: Any) -> tuple[float, float]:
    """Click Stop on the live answer: when it was pressed, and seconds until it shows
    interrupted.

    The clock (``time.monotonic``, as the scripted servers record ``closed_at``) starts
    where the user's does, as the click is sent; the kernel is idle before this returns.
    """
    stop = page.locator(f"{ANSWER} .jp-nbstream-stop").last
    stop.wait_for()
    pressed = time.monotonic()
    stop.click()
    try:
        page.wait_for_selector(f'{ANSWER}[data-status="interrupted"]', timeout=5000)
    except PlaywrightTimeout as exc:  # say what the answer shows instead
        state = _answer_state(page)
        raise AssertionError(
            f"not shown interrupted 5 s after Stop: status {state['status']!r}, "
            f"line {state['line']!r}, {len(state['text'])} characters"
        ) from exc
    took = time.monotonic() - pressed
    wait_for_idle(page, timeout=5)
    return pressed, took


def test_tiny_model_streams_live_and_stops_within_a_second(
    lab_server: LabServer, page: Any, tiny_model: Path
) -> None:
    print(f"\nscreenshots: {artifacts_dir('lab')}")
    # The long answer must still be streaming when Stop is pressed, however slow the
    # screenshots before it: 8,000 tokens (3–5 s at this model's speed) could end first,
    # and a busy CI run once saw no interruption within 5 s (not reproduced since). 30,000
    # take about a minute; the model never stops on its own.
    spec = f"llama:{tiny_model}?n_ctx=32768"
    write_notebook(
        lab_server.root / "tiny.ipynb",
        [
            "%load_ext nbstream\nx = 1  # a comment",
            f"%%llm {spec} -t 0 -n 24\nHello",
            f"%%llm {spec} -t 0 -n 30000\n# A story\nTell me a long story.",
        ],
    )
    open_notebook(page, lab_server, "tiny.ipynb")
    # The prompts are highlighted as Markdown, other cells in the kernel's language.
    assert page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .map(cell => cell.model.mimeType)"""
    ) == ["text/x-ipython", "text/x-ipythongfm", "text/x-ipythongfm"]
    # … and the editor really highlights them so: a heading, not a Python comment.
    page.wait_for_function(
        """() => {
            const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Cell');
            const style = (i, text) => [...cells[i].querySelectorAll('.cm-line span')]
                .find(span => span.textContent.includes(text))?.className;
            const comment = style(0, 'a comment'), heading = style(2, 'A story');
            return comment && heading && comment !== heading;
        }""",
        timeout=10_000,
    )
    run_cell(page, 0)
    wait_for_idle(page)
    run_cell(page, 1)
    page.wait_for_selector(f'{ANSWER}[data-status="done"]')
    wait_for_idle(page)
    done = _answer_state(page)
    screenshot(page, "tiny-1-done")
    assert done["text"].strip() and not done["cursor"]
    assert "tiny.gguf · 24 tokens" in done["line"] and "tok/s" in done["line"]
    screenshot(page, "tiny-1-done")

    run_cell(page, 2)
    frames = _watch_growth(page, "tiny-2-streaming")
    assert all(frame["cursor"] and "● streaming" in frame["line"] for frame in frames)
    _, took = _press_stop(page)
    stopped = _answer_state(page)
    screenshot(page, "tiny-3-stopped")
    print(f"\ntiny model: Stop → shown interrupted in {took:.3f} s")
    assert took < 0.5  # the promise: generation ends within half a second of Stop
    assert stopped["line"].startswith("■ interrupted")
    assert len(stopped["text"]) >= len(frames[-1]["text"]) and not stopped["cursor"]
    # Stopping on purpose is a notice: one calm line, not a pink error box.
    notice = page.locator(".jp-nbstream-notice").last
    assert notice.inner_text().startswith("■ Generation stopped after")
    assert notice.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    colours = page.evaluate(
        """() => [...document.querySelectorAll('.jp-nbstream-status')]
            .map(e => getComputedStyle(e).color)"""
    )
    assert len(set(colours)) == 1, colours  # interrupted looks like done, not orange
    screenshot(page, "tiny-4-stopped-notice")


def test_markdown_answer_streams_stops_inserts_and_reopens_untrusted(
    lab_server: LabServer, page: Any
) -> None:
    folder = artifacts_dir("lab")
    print(f"\nscreenshots: {folder}")
    with ScriptedServer(_markdown_stream()) as server:
        write_notebook(
            lab_server.root / "answer.ipynb",
            [
                "%load_ext nbstream",
                f"%%llm openai:gpt-test --base-url {server.url}/v1\nHow do I read a CSV?",
            ],
        )
        open_notebook(page, lab_server, "answer.ipynb")
        run_cell(page, 0)
        wait_for_idle(page)
        run_cell(page, 1)

        # The heading, once complete, must never be rendered again.
        heading = f"{ANSWER} > .jp-nbstream-markdown > h1"
        page.wait_for_selector(f"{heading} ~ p")
        page.locator(heading).evaluate("h => h.dataset.testMark = 'first'")
        raw_seen = []
        # Four growing states: under the 3× byte budget a 25 chars/s stream gets a delta
        # every ~4 s, and the "word" phase is ~20 s, so six were too many on a busy machine.
        frames = _watch_growth(page, "answer-1-streaming", frames=4)
        deadline = time.monotonic() + 30
        while "keeps" not in _answer_state(page)["text"]:
            assert time.monotonic() < deadline, "the answer stopped growing"
            state = _answer_state(page)
            if "```" in state["text"] or "**" in state["text"]:
                raw_seen.append(state["text"])
            page.wait_for_timeout(20)
        screenshot(page, "answer-2-streaming-late")
        assert not raw_seen, f"raw Markdown flashed: {raw_seen[:2]}"
        assert all(frame["cursor"] for frame in frames)
        assert _answer_state(page)["firstMarked"], "the stable heading was re-rendered"
        assert page.locator(f"{ANSWER} .jp-nbstream-reasoning").evaluate("d => !d.open")

        pressed, took = _press_stop(page)
        assert server.requests[0].closed.wait(2)
        hung_up = (server.requests[0].closed_at or 0) - pressed
        print(f"server answer: Stop → server hung up in {hung_up:.3f} s, shown in {took:.3f} s")
        screenshot(page, "answer-3-stopped")
        assert hung_up < 0.5 and took < 0.5, (hung_up, took)

    state = _answer_state(page)
    assert state["line"].startswith("■ interrupted")
    assert "df = pd.read_csv('data.csv')" in state["text"]
    assert page.evaluate("() => window.__nbstreamPwned") is None
    assert page.locator(f"{ANSWER} script, {ANSWER} [onerror]").count() == 0
    assert page.locator(f'{ANSWER} a[href^="javascript"]').count() == 0

    copy = page.locator(f"{ANSWER} .jp-nbstream-copy").last
    copy.click()
    page.wait_for_function("b => b.textContent.includes('Copied')", arg=copy.element_handle())
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("# Reading a CSV\n\nUse **pandas**") and "<script>" in copied

    insert = page.locator(f"{ANSWER} .jp-nbstream-insert").first
    insert.click()
    page.wait_for_function("b => b.textContent.includes('Inserted')", arg=insert.element_handle())
    new_cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(2)
    new_cell.wait_for()
    assert "df = pd.read_csv('data.csv')" in new_cell.locator(".cm-content").inner_text()
    screenshot(page, "answer-4-inserted")
    save(page)
    shutdown_kernels(lab_server)

    # The same notebook from elsewhere: not signed by this server, so not trusted.
    path = lab_server.root / "answer.ipynb"
    notary = NotebookNotary(data_dir=str(lab_server.data_dir))
    assert notary.check_signature(nbformat.read(str(path), 4)), "saved by Lab: trusted"
    saved = json.loads(path.read_text())
    assert "".join(saved["cells"][2]["source"]).startswith("import pandas as pd")
    # No kernel named: Lab asks which one to start, and the user picks none.
    saved["metadata"] = {"nbformat_note": "from elsewhere"}
    path.write_text(json.dumps(saved))
    assert not notary.check_signature(nbformat.read(str(path), 4))

    page.goto("about:blank")
    open_notebook(page, lab_server, "answer.ipynb", kernel=False)
    page.locator(".jp-Dialog-button", has_text="No Kernel").click()
    assert kernel_state(page) == "none"
    page.wait_for_selector(f'{ANSWER}[data-status="interrupted"] h1')
    screenshot(page, "answer-5-reopened")
    reopened = _answer_state(page)
    assert reopened["text"].strip() == state["text"].strip()
    assert page.locator(f"{ANSWER} .jp-nbstream-insert").count() == 1
    assert page.locator(f"{ANSWER} .jp-nbstream-stop").is_hidden()
    assert page.evaluate("() => window.__nbstreamPwned") is None
