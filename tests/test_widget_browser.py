"""The chat widget as a user meets it: JupyterLab in Chromium, a kernel, a real server.

The answer comes from an OpenAI-compatible server on 127.0.0.1 (the scripted server)
at a realistic pace — a piece of Markdown every 40 ms — with HTML a model should never
get to run in it, and then the stream stays open, the way a long remote answer does, so
only Stop ends it. The test types a question and presses Enter, watches the answer grow
over several frames, runs another cell while it streams, presses Stop (the server must
see the connection closed), asks again, saves, and reopens the notebook with no kernel:
the conversation must still be there, as the Markdown transcript.

Screenshots of every step go to ``$NBSTREAM_ARTIFACTS/widget`` (default
``artifacts/widget``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .lab import (
    LabServer,
    open_notebook,
    run_cell,
    save,
    screenshot,
    shutdown_kernels,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import STALL, Recorded, Script, ScriptedServer, sse

CHAT = ".nbstream-chat:not(.nbstream-chat-transcript)"  # the live widget
PENDING = f"{CHAT} .nbstream-chat-pending .nbstream-chat-body"
PIECES = [
    "## Reading ",
    "a CSV\n\n",
    "Use **pan",
    "das**: one ",
    "call reads ",
    'it. <img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>\n\n",
    "```python\n",
    "import pandas as pd\n",
    "df = pd.read_csv('data.csv')\n",
    "```\n\n",
    *[f"Then step {n} of the tour. " for n in range(1, 60)],
]
SECOND = ["Short ", "and ", "*done*."]


def answer(recorded: Recorded) -> Script:
    """The first question gets the long answer that never ends; later ones a short one."""
    questions = [m for m in recorded.json()["messages"] if m["role"] == "user"]
    pieces, tail = (PIECES, [STALL]) if len(questions) == 1 else (SECOND, [b"data: [DONE]\n\n"])
    body: list[Any] = []
    for event in sse(*({"choices": [{"delta": {"content": p}}]} for p in pieces), done=False):
        body += [event, 0.04]
    return Script(body=[*body, *tail])


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer) as running:
        yield running


def shot(page: Any, name: str) -> None:
    screenshot(page, name, folder="widget")


def pending_length(page: Any) -> int:
    texts: list[str] = page.locator(PENDING).first.all_inner_texts()
    return len(texts[0]) if texts else 0


def test_chat_streams_stops_runs_alongside_cells_and_survives_a_reload(
    lab_server: LabServer, page: Any, server: ScriptedServer
) -> None:
    write_notebook(
        lab_server.root / "chat.ipynb",
        [
            "import nbstream\n"
            f"chat = nbstream.chat('openai:test-model', base_url='{server.url}/v1')\n"
            "chat",
            "print('other cell ran', 6 * 7)",
            "chat  # a second view of the same chat",
        ],
    )
    open_notebook(page, lab_server, "chat.ipynb")
    run_cell(page, 0)
    wait_for_idle(page)
    page.wait_for_selector(f"{CHAT} .nbstream-chat-input")
    # The transcript output under the live widget is hidden; the widget shows the model.
    hidden = page.wait_for_selector(
        ".jp-OutputArea-child.jp-nbstream-hidden .nbstream-chat-transcript", state="attached"
    )
    assert not hidden.is_visible() and "0 messages" in hidden.text_content()
    assert page.locator(f"{CHAT} .nbstream-chat-model").inner_text() == "openai:test-model"
    shot(page, "1-empty")

    # Shift+Enter is a new line in the box (not "run cell"); Enter sends.
    box = page.locator(f"{CHAT} .nbstream-chat-input")
    box.fill("How do I read")
    box.press("Shift+Enter")
    box.type("a CSV?")
    assert box.input_value() == "How do I read\na CSV?"
    box.press("Enter")
    page.wait_for_selector(PENDING)
    assert box.input_value() == ""

    # The answer grows over several frames, with the status line streaming.
    lengths = []
    for _ in range(6):
        page.wait_for_timeout(150)
        lengths.append(pending_length(page))
    assert len(set(lengths)) >= 4 and lengths == sorted(lengths), lengths
    assert page.locator(f"{CHAT} .nbstream-chat-live-stats").inner_text().startswith("● streaming")
    shot(page, "2-streaming")

    # Another cell runs while the answer streams, and the answer keeps growing.
    before = pending_length(page)
    run_cell(page, 1)
    page.wait_for_selector("text=other cell ran 42")
    page.wait_for_timeout(200)
    assert pending_length(page) > before

    # A second view opened mid-answer catches up and then streams along.
    run_cell(page, 2)
    page.wait_for_function(
        f"() => document.querySelectorAll('{PENDING}').length === 2", timeout=10_000
    )
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-nbstream-hidden .nbstream-chat-transcript')"
        ".length === 2"
    )

    # The model's Markdown is rendered by JupyterLab; its HTML never runs or loads.
    widget = page.locator(CHAT).first
    assert widget.locator("h2").first.inner_text().startswith("Reading a CSV")
    assert widget.locator("strong").first.inner_text() == "pandas"
    assert "read_csv" in widget.locator("pre code").first.inner_text()
    assert widget.locator("img, script, [onerror]").count() == 0
    assert widget.locator(".jp-nbstream-image").count() == 1
    assert page.evaluate("() => window.__pwned") is None
    shot(page, "3-other-cell-ran")

    pressed = time.monotonic()
    widget.locator(".nbstream-chat-stop").click()
    assert server.requests[0].closed.wait(5), "Stop did not hang up on the server"
    hung_up = (server.requests[0].closed_at or 0) - pressed
    assert hung_up < 0.5, f"the server saw the connection close {hung_up:.3f} s after Stop"
    page.wait_for_selector(f"{CHAT} .nbstream-chat-msg[data-status='interrupted']")
    stopped = widget.locator(".nbstream-chat-msg[data-status='interrupted']").inner_text()
    assert "Then step 1 of the tour." in stopped and "■ interrupted" in stopped
    assert widget.locator(".nbstream-chat-send").is_enabled()
    # Both views show the same finished message (from the synced trait).
    second_view = page.locator(CHAT).nth(1)
    assert (
        second_view.locator(".nbstream-chat-msg[data-status='interrupted']").inner_text() == stopped
    )
    shot(page, "4-stopped")

    widget.locator(".nbstream-chat-input").fill("Shorter, please.")
    widget.locator(".nbstream-chat-send").click()
    page.wait_for_selector(f"{CHAT} .nbstream-chat-msg[data-status='done']")
    assert widget.locator(".nbstream-chat-msg[data-status='done'] em").inner_text() == "done"
    assert widget.locator(".nbstream-chat-msg").count() == 4
    assert server.requests[0].json()["messages"][-1]["content"] == "How do I read\na CSV?"
    shot(page, "5-second-answer")

    save(page)
    saved = json.loads((lab_server.root / "chat.ipynb").read_text())
    outputs = saved["cells"][0]["outputs"]
    markdown = "".join(outputs[1]["data"]["text/markdown"])
    assert markdown.startswith("**nbstream chat** · `openai:test-model` · 4 messages")
    assert "Then step 1 of the tour." in markdown and "Short and *done*." in markdown
    assert "&lt;img src=x" in markdown and "■ stopped" in markdown

    shutdown_kernels(lab_server)
    open_notebook(page, lab_server, "chat.ipynb", kernel=False)
    # The conversation is shown in place of the widget that cannot be; no error shows.
    transcript = page.locator(".nbstream-chat-transcript").first
    transcript.wait_for()
    page.wait_for_timeout(2000)  # the widget manager gives up on the missing model
    assert transcript.is_visible()
    text = transcript.inner_text()
    assert "How do I read" in text and "a CSV?" in text and "Short and done." in text
    assert not page.get_by_text("Error displaying widget").first.is_visible()
    assert page.locator(".jp-OutputArea-output img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    shot(page, "6-reopened-without-kernel")
