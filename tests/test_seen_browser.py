"""What a person sees, in JupyterLab and in Notebook 7 alike (issue 14's points).

Each test runs once per front end (the same server: JupyterLab at ``/lab``, Notebook 7
at ``/notebooks``), with answers from the scripted OpenAI-compatible server:

- Stop ends a cell with one calm line, not an error box, and the interrupted status line
  has the colour of a finished one (point 4);
- Copy and Insert below say so on the button (point 5; Copy without
  ``navigator.clipboard`` is in ``test_frontend_browser.py``);
- an answer and the chat's saved transcript that carry a ``javascript:`` link, a remote
  image and raw HTML never load anything and never hold a ``javascript:`` link — live,
  in the saved notebook opened while the kernel runs, and reopened without the chat's
  kernel; reopened, the conversation is shown and "Error displaying widget" never is
  (point 1, and the request log of the "Done when");
- the chat redraws only the growing end of a streaming answer: its finished heading is
  the same element from the first frame to the last (point 6, the chat's redraw);
- the chat example notebook, as saved, shows a conversation, and the quickstart says
  what ``--seed`` promises (point 6).

Screenshots go to ``$NBSTREAM_ARTIFACTS/seen``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import (
    LabServer,
    open_notebook,
    run_all,
    run_cell,
    save,
    screenshot,
    shutdown_kernels,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import STALL, Script, ScriptedServer, chat_delta, sse
from .test_frontend_browser import RequestLog

FRONTENDS = pytest.mark.parametrize("frontend", ["lab", "notebook7"])
ANSWER = ".jp-nbstream-answer"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# Watches the page as painted, once per frame: whether "Error displaying widget" was ever
# visible, and every href and src any output ever had (hidden ones too).
WATCHER = """
window.__seen = {error: false, urls: []};
const frame = () => {
  for (const e of document.querySelectorAll('.jp-OutputArea-output')) {
    if (e.textContent.trim().startsWith('Error displaying widget') && e.checkVisibility())
      window.__seen.error = true;
  }
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
new MutationObserver(records => {
  for (const r of records) {
    const nodes = r.type === 'attributes' ? [r.target] : [...r.addedNodes];
    for (const n of nodes) {
      if (n.nodeType !== 1 || !n.closest('.jp-OutputArea')) continue;
      for (const el of [n, ...n.querySelectorAll('[href], [src]')])
        for (const name of ['href', 'src'])
          if (el.hasAttribute(name)) window.__seen.urls.push([name, el.getAttribute(name)]);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['href', 'src']});
"""


def _script(pieces: list[str], pace: float = 0.02, *, stall: bool = False) -> Script:
    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for piece in pieces:
        body += [*sse(chat_delta(piece), done=False), pace]
    body += [STALL] if stall else sse(chat_delta(finish="stop"))
    return Script(body=body)


def _cut(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def shot(page: Any, name: str) -> None:
    screenshot(page, name, folder="seen")


def _outputs(page: Any, cell: int) -> list[dict[str, Any]]:
    """Cell ``cell``'s outputs other than the answer: text, background, height, lines."""
    return list(
        page.evaluate(
            """([index, answer]) => {
                const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[index];
                return [...cell.querySelectorAll('.jp-OutputArea-output')]
                    .filter(o => !o.matches(answer) && !o.querySelector(answer))
                    .map(o => {
                        const style = getComputedStyle(o);
                        return {text: o.innerText.trim(), background: style.backgroundColor,
                                height: o.getBoundingClientRect().height,
                                line: parseFloat(style.lineHeight) || 20};
                    });
            }""",
            [cell, ANSWER],
        )
    )


@FRONTENDS
def test_stop_ends_with_one_calm_line(lab_server: LabServer, page: Any, frontend: str) -> None:
    done_script = _script(_cut("A short answer that ends."))
    long_script = _script([f"Word {n}. " for n in range(400)], 0.05, stall=True)
    with ScriptedServer(done_script) as done, ScriptedServer(long_script) as slow:
        name = f"stop-{frontend}.ipynb"
        write_notebook(
            lab_server.root / name,
            [
                "%load_ext nbstream",
                f"%%llm openai:m --base-url {done.url}/v1\nShort",
                f"%%llm openai:m --base-url {slow.url}/v1\nLong",
            ],
        )
        open_notebook(page, lab_server, name, frontend=frontend)
        run_cell(page, 0)
        wait_for_idle(page)
        run_cell(page, 1)
        page.wait_for_selector(f'{ANSWER}[data-status="done"]')
        wait_for_idle(page)
        run_cell(page, 2)
        page.wait_for_selector(f'{ANSWER}[data-status="streaming"]')
        page.locator(f"{ANSWER} .jp-nbstream-stop").last.click()
        page.wait_for_selector(f'{ANSWER}[data-status="interrupted"]', timeout=5000)
        wait_for_idle(page, timeout=10)
        assert slow.requests[0].closed.wait(5)
    notice = page.locator(".jp-NotebookPanel .jp-Cell").nth(2).locator(".jp-OutputArea-output")
    notice.last.scroll_into_view_if_needed()
    shot(page, f"{frontend}-stopped")

    outputs = _outputs(page, 2)
    assert len(outputs) == 1, outputs
    (line,) = outputs
    assert line["text"].startswith("■ Generation stopped after"), line
    assert "\n" not in line["text"] and line["height"] < 2 * line["line"], line
    assert line["background"] == "rgba(0, 0, 0, 0)", line  # no error box
    colours = page.evaluate(
        "s => [...document.querySelectorAll(s)].map(e => getComputedStyle(e).color)",
        f"{ANSWER} .jp-nbstream-status",
    )
    assert len(colours) == 2 and colours[0] == colours[1], colours  # interrupted ≠ alarm


@FRONTENDS
def test_copy_and_insert_below_say_so(lab_server: LabServer, page: Any, frontend: str) -> None:
    text = "Run this:\n\n```python\nprint('inserted', 6 * 7)\n```\n\nThat is all."
    with ScriptedServer(_script(_cut(text))) as server:
        name = f"buttons-{frontend}.ipynb"
        write_notebook(
            lab_server.root / name,
            ["%load_ext nbstream", f"%%llm openai:m --base-url {server.url}/v1\nCode"],
        )
        open_notebook(page, lab_server, name, frontend=frontend)
        run_all(page)
        page.wait_for_selector(f'{ANSWER}[data-status="done"]')
        wait_for_idle(page)

    copy = page.locator(f"{ANSWER} .jp-nbstream-copy").first
    copy.click()
    page.wait_for_function(
        "b => b.textContent.includes('Copied')", arg=copy.element_handle(), timeout=5000
    )
    shot(page, f"{frontend}-copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == text

    insert = page.locator(f"{ANSWER} .jp-nbstream-insert").first
    insert.click()
    page.wait_for_function(
        "b => b.textContent.includes('Inserted')", arg=insert.element_handle(), timeout=5000
    )
    shot(page, f"{frontend}-inserted")
    # The confirmation is seen whole: the code block does not cut its buttons off.
    boxes = insert.evaluate(
        """b => {
            const pre = b.closest('pre'), box = r => {
                const {top, bottom} = r.getBoundingClientRect();
                return [top, bottom];
            };
            return {pre: box(pre), button: box(b), overflow: getComputedStyle(pre).overflow};
        }"""
    )
    assert boxes["pre"][0] <= boxes["button"][0] and boxes["button"][1] <= boxes["pre"][1], boxes
    new_cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(2)
    assert "print('inserted', 6 * 7)" in new_cell.locator(".cm-content").inner_text()


@pytest.fixture
def leak() -> Iterator[RequestLog]:
    log = RequestLog()
    yield log
    log.close()


def _unsafe(page: Any, leak: RequestLog, when: str, since: int = 0) -> list[str]:
    """What is wrong on ``page`` now: requests the model's URLs got (after the first
    ``since``), a ``javascript:`` link or an image ever in an output, one in the DOM now."""
    seen = page.evaluate("() => window.__seen.urls")
    problems = [f"{when}: requested {path}" for path in leak.paths[since:]]
    problems += [f"{when}: {n}={v}" for n, v in seen if n == "src" and leak.url in v]
    problems += [f"{when}: {n}={v}" for n, v in seen if v.lower().startswith("javascript")]
    scripted = page.locator(".jp-Notebook a[href^='javascript' i], .jp-OutputArea-output img")
    if scripted.count():
        problems.append(f"{when}: {scripted.count()} javascript: links or images in the DOM")
    return problems


@FRONTENDS
def test_answers_and_the_saved_chat_load_nothing_live_saved_or_reopened(
    lab_server: LabServer, page: Any, leak: RequestLog, frontend: str
) -> None:
    def unsafe(where: str) -> str:
        return (
            f"## Answer {where}\n\nSee [click](javascript:window.__seenPwned=1), "
            f"![leak]({leak.url}/{where}.png?d=secret) and "
            f"<img src='{leak.url}/{where}-raw.png'>, or [docs](https://example.org).\n"
        )

    def answer(recorded: Any) -> Script:
        where = "chat" if "chat" in recorded.json()["messages"][-1]["content"] else "cell"
        return _script(_cut(unsafe(where)))

    with ScriptedServer(answer) as server:
        base = f"{server.url}/v1"
        name = f"leak-{frontend}.ipynb"
        write_notebook(
            lab_server.root / name,
            [
                "%load_ext nbstream\nimport nbstream",
                f"%%llm openai:m --base-url {base}\nA cell question",
                f"chat = nbstream.chat('openai:m', base_url={base!r})\nchat",
                "chat.send('A chat question')\nchat.wait(60)\nprint('chat', 'ended')",
            ],
        )
        page.add_init_script(WATCHER)
        open_notebook(page, lab_server, name, frontend=frontend)
        run_all(page)
        page.locator(".jp-NotebookPanel .jp-Cell").last.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => document.body.innerText.includes('chat ended')", timeout=60_000
        )
        wait_for_idle(page)
        page.wait_for_timeout(500)  # the transcript replaces the last one as the answer ends
        shot(page, f"{frontend}-live")
        problems = _unsafe(page, leak, "live")
        requested = len(leak.paths)
        save(page)

        # The saved notebook in a second tab while its kernel runs: the widget is live.
        second = page.context.new_page()
        second.add_init_script(WATCHER)
        open_notebook(second, lab_server, name, frontend=frontend)
        second.locator(".jp-NotebookPanel .jp-Cell").nth(2).scroll_into_view_if_needed()
        second.wait_for_selector(f'{ANSWER}[data-status="done"]')
        second.wait_for_timeout(2000)  # the widget view comes from the kernel
        shot(second, f"{frontend}-saved")
        problems += _unsafe(second, leak, "saved", requested)
        requested = len(leak.paths)
        second.close()

    shutdown_kernels(lab_server)
    page.goto("about:blank")
    open_notebook(page, lab_server, name, kernel=False, frontend=frontend)
    chat_cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(2)
    chat_cell.scroll_into_view_if_needed()
    page.wait_for_selector(f'{ANSWER}[data-status="done"]')
    page.wait_for_function(
        "c => c.innerText.includes('A chat question')", arg=chat_cell.element_handle()
    )
    page.wait_for_timeout(3000)  # the widget manager gives up on the missing model
    shot(page, f"{frontend}-reopened")
    problems += _unsafe(page, leak, "reopened", requested)
    shown = chat_cell.locator(".jp-OutputArea").inner_text()
    if page.evaluate("() => window.__seen.error") or "Error displaying widget" in shown:
        problems.append("reopened: 'Error displaying widget' was shown")
    if "A chat question" not in shown or "Answer chat" not in shown:
        problems.append(f"reopened: the conversation is not shown: {shown!r}")
    assert page.evaluate("() => window.__seenPwned") is None
    assert not problems, problems


@FRONTENDS
def test_the_chat_keeps_finished_blocks_while_it_streams(
    lab_server: LabServer, page: Any, frontend: str
) -> None:
    pieces = ["## Heading\n\n", *[f"Sentence {n}. " for n in range(120)]]
    with ScriptedServer(_script(pieces, 0.03)) as server:
        base, name = f"{server.url}/v1", f"redraw-{frontend}.ipynb"
        write_notebook(
            lab_server.root / name,
            [f"import nbstream\nchat = nbstream.chat('openai:m', base_url={base!r})\nchat"],
        )
        # Every element that shows the heading once it is finished (a paragraph follows
        # it), counted at every change of the streaming message.
        page.add_init_script(
            """window.__headings = new Set(); window.__frames = 0;
            new MutationObserver(() => {
              const p = document.querySelector('.nbstream-chat-pending :is(h1, h2, h3, h4) + p');
              if (p) { window.__headings.add(p.previousElementSibling); window.__frames += 1; }
            }).observe(document, {subtree: true, childList: true, characterData: true});"""
        )
        open_notebook(page, lab_server, name, frontend=frontend)
        run_all(page)
        wait_for_idle(page)
        page.wait_for_selector(".nbstream-chat-input")
        page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
                .requestExecute({code: "chat.send('Go')"})"""
        )
        page.wait_for_selector(".nbstream-chat-pending :is(h1, h2, h3, h4) + p", timeout=30_000)
        shot(page, f"{frontend}-chat-streaming")
        page.wait_for_selector(".nbstream-chat-msg[data-status='done']", timeout=60_000)
    frames = page.evaluate("() => window.__frames")
    headings = page.evaluate("() => window.__headings.size")
    assert frames >= 5, frames  # it was seen streaming
    assert headings == 1, f"the finished heading was drawn {headings} times in {frames} frames"


@FRONTENDS
def test_the_examples_as_saved(lab_server: LabServer, page: Any, frontend: str) -> None:
    for example in ("01-quickstart.ipynb", "03-chat-widget.ipynb"):
        shutil.copy(NOTEBOOKS / example, lab_server.root / example)
    page.add_init_script(WATCHER)
    problems: list[str] = []

    open_notebook(page, lab_server, "03-chat-widget.ipynb", kernel=False, frontend=frontend)
    chat_cell = page.locator(".jp-NotebookPanel .jp-Cell", has_text="chat = nbstream.chat(")
    chat_cell.first.wait_for()
    page.wait_for_timeout(3000)  # the widget manager gives up on the missing model
    chat_cell.first.scroll_into_view_if_needed()
    shot(page, f"{frontend}-example-chat")
    shown = chat_cell.first.locator(".jp-OutputArea").inner_text()
    # The conversation it leaves (not emptied by a reset), and nothing that says otherwise
    # above it (the widget's saved repr, "Chat(model=…, messages=0)", is its state at
    # display time).
    counts = [int(n) for n in re.findall(r"(\d+) messages?\b", shown)]
    if not counts or not all(counts):
        problems.append(f"the chat example shows no conversation: {shown!r}")
    if "messages=0" in shown or "Error displaying widget" in shown:
        problems.append(f"the chat example shows what contradicts it: {shown!r}")
    if page.evaluate("() => window.__seen.error"):
        problems.append("the chat example showed 'Error displaying widget'")

    open_notebook(page, lab_server, "01-quickstart.ipynb", kernel=False, frontend=frontend)
    page.wait_for_function("() => document.body.innerText.includes('--seed')")
    shot(page, f"{frontend}-example-quickstart")
    if "makes it repeatable on one machine and build" not in page.inner_text(".jp-Notebook"):
        problems.append("the quickstart does not say --seed is repeatable on one machine only")
    assert not problems, problems


# Counts, once per frame, the frames in which a chat widget showed an answer streaming.
CHAT_WATCHER = """
window.__chat = {streaming: 0};
const chatFrame = () => {
  if (document.querySelector('.nbstream-chat .nbstream-chat-pending .nbstream-chat-body'))
    window.__chat.streaming += 1;
  requestAnimationFrame(chatFrame);
};
requestAnimationFrame(chatFrame);
"""


@pytest.mark.slow
@FRONTENDS
def test_the_chat_example_run_all_streams_and_leaves_a_conversation(
    lab_server: LabServer, page: Any, frontend: str
) -> None:
    """Point 6b, live: *Run All* of the chat example with the demo model streams into the
    widget and leaves the conversation in it (not emptied by a reset)."""
    example = "03-chat-widget.ipynb"
    shutil.copy(NOTEBOOKS / example, lab_server.root / f"live-{frontend}-{example}")
    page.add_init_script(CHAT_WATCHER)
    open_notebook(page, lab_server, f"live-{frontend}-{example}", frontend=frontend)
    try:
        run_all(page)
        page.wait_for_selector(".nbstream-chat", timeout=120_000)
        page.wait_for_function("() => window.__chat.streaming > 0", timeout=120_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-InputPrompt').length > 0 && "
            "[...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]"
            ".every(p => /\\[\\d+\\]/.test(p.textContent))",
            timeout=240_000,
        )
        wait_for_idle(page, timeout=120)
        chat = page.locator(".nbstream-chat").first
        chat.scroll_into_view_if_needed()
        shot(page, f"{frontend}-example-chat-live")
        roles = chat.locator(".nbstream-chat-msg").evaluate_all(
            "nodes => nodes.map(n => [n.dataset.role, n.innerText.trim().length])"
        )
        # The conversation the notebook leaves (its last exchange: the stopped count), not
        # an empty widget after a reset.
        assert [role for role, _ in roles].count("user") >= 1, roles
        assert [role for role, _ in roles].count("assistant") >= 1, roles
        assert all(length > 0 for _, length in roles), roles
    finally:
        shutdown_kernels(lab_server)
