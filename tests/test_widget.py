"""The chat widget, driven the way its front end drives it, against real backends.

Widgets talk through a comm; the ``comm`` package lets a host plug in its own
(``comm.create_comm``, which is how ipykernel installs its comm). Here it is a comm that
keeps what it publishes, so the tests read exactly the messages a browser would get
(trait updates and custom ``delta`` / ``snapshot`` messages) and send commands through
the widget's own message handler (``_handle_msg``), as JupyterLab's widget manager does.
The backends are real: the scripted HTTP server (which records when the client hung
up), and llama.cpp running the tiny generated model. The last tests run the widget in a
real kernel, to check the cell is free while the answer streams and that the saved
transcript display is replaced when the answer ends.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

import nbstream
from nbstream._exceptions import UsageError
from nbstream._widget import Chat
from nbstream.backends._llama_models import get_model

from .kernel import Kernel
from .servers.scripted import RESET, STALL, Script, ScriptedServer, sse


class RecordingComm(BaseComm):
    """A comm that keeps every message it publishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.published: list[tuple[str, Any]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        self.published.append((msg_type, data))


@pytest.fixture(autouse=True)
def recording_comms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", RecordingComm)


def custom(chat: Chat, kind: str | None = None) -> list[dict[str, Any]]:
    sent = chat.comm.published
    found = [d["content"] for t, d in list(sent) if t == "comm_msg" and d["method"] == "custom"]
    return [m for m in found if kind is None or m["type"] == kind]


def updates(chat: Chat) -> list[dict[str, Any]]:
    sent = chat.comm.published
    return [d["state"] for t, d in list(sent) if t == "comm_msg" and d["method"] == "update"]


def front_end(chat: Chat, **content: Any) -> None:
    """Deliver a custom message the way the widget manager does."""
    chat._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def openai_words(*words: str, pause: float = 0.0, tail: list[Any] | None = None) -> Script:
    body: list[Any] = []
    for event in sse(*({"choices": [{"delta": {"content": w}}]} for w in words), done=False):
        body += [event, pause] if pause else [event]
    body += tail if tail is not None else [b"data: [DONE]\n\n"]
    return Script(body=body)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def openai_chat(server: ScriptedServer, **options: Any) -> Chat:
    return nbstream.chat("openai:test-model", base_url=server.url + "/v1", **options)


# --- streaming, history, traits ------------------------------------------------------


def test_an_answer_streams_as_deltas_and_ends_in_the_turns_trait(server: ScriptedServer) -> None:
    server.play(openai_words("Hello", ", ", "**world**", "!", pause=0.02))
    chat = openai_chat(server, system="Be terse.")
    front_end(chat, type="send", text="Say hello")
    response = chat.wait(15)
    assert response is not None and response.status == "done"
    deltas = custom(chat, "delta")
    assert "".join(d["text"] for d in deltas) == "Hello, **world**!"
    assert deltas[-1]["stats"].startswith("openai:test-model · 4 tokens")
    assert chat.turns[-1]["content"] == "Hello, **world**!"
    assert chat.turns[-1]["status"] == "done"
    assert chat.busy is False
    assert chat.messages == [
        {"role": "user", "content": "Say hello"},
        {"role": "assistant", "content": "Hello, **world**!"},
    ]
    sent = server.last.json()["messages"]
    assert sent == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Say hello"},
    ]
    # The next question carries the history; the system prompt stays first.
    server.play(openai_words("Again"))
    chat.send("Once more")
    chat.wait(15)
    assert [m["content"] for m in server.last.json()["messages"]] == [
        "Be terse.",
        "Say hello",
        "Hello, **world**!",
        "Once more",
    ]
    # The finished text crossed the wire once per answer as deltas, once in the trait.
    assert [u.get("busy") for u in updates(chat) if "busy" in u] == [True, False, True, False]


def test_deltas_are_coalesced_and_total_bytes_are_linear(server: ScriptedServer) -> None:
    words = [f"w{i} " for i in range(3000)]
    server.play(openai_words(*words))
    chat = openai_chat(server)
    started = time.monotonic()
    chat.send("Count")
    chat.wait(30)
    elapsed = time.monotonic() - started
    deltas = custom(chat, "delta")
    text = "".join(words)
    assert "".join(d["text"] for d in deltas) == text
    assert sum(len(d["text"]) for d in deltas) == len(text)  # each character sent once
    assert len(deltas) <= elapsed * 20 + 3
    assert len(deltas) < len(words) / 10


def test_a_send_while_answering_is_refused_and_answers_never_interleave(
    server: ScriptedServer,
) -> None:
    server.play(openai_words("one", " two", " three", pause=0.1))
    chat = openai_chat(server)
    chat.send("First")
    with pytest.raises(UsageError, match="still answering"):
        chat.send("Second")
    front_end(chat, type="send", text="Second")
    assert chat.notice.startswith("The chat is still answering")
    chat.wait(15)
    assert [t["role"] for t in chat.turns] == ["user", "assistant"]
    assert chat.turns[1]["content"] == "one two three"
    assert len(server.requests) == 1
    assert {d["gen"] for d in custom(chat, "delta")} == {1}
    # Once the answer ended, sending works again and clears the notice.
    server.play(openai_words("four"))
    front_end(chat, type="send", text="Third")
    chat.wait(15)
    assert chat.notice == ""
    assert [t["content"] for t in chat.turns] == ["First", "one two three", "Third", "four"]


def test_empty_input_is_not_sent(server: ScriptedServer) -> None:
    chat = openai_chat(server)
    with pytest.raises(UsageError, match="Nothing to send"):
        chat.send("   ")
    front_end(chat, type="send", text="")
    assert chat.notice.startswith("Nothing to send")
    assert chat.turns == [] and server.requests == []


# --- Stop ------------------------------------------------------------------------------


def test_stop_hangs_up_on_the_server_within_half_a_second(server: ScriptedServer) -> None:
    server.play(openai_words("Partial", " answer", tail=[STALL]))
    chat = openai_chat(server)
    chat.send("Go")
    deadline = time.monotonic() + 5
    while "".join(d["text"] for d in custom(chat, "delta")) != "Partial answer":
        assert time.monotonic() < deadline, custom(chat)
        time.sleep(0.01)
    pressed = time.monotonic()
    front_end(chat, type="stop")
    response = chat.wait(0.5)
    assert time.monotonic() - pressed < 0.5
    recorded = server.last
    assert recorded.closed.wait(0.5), "the HTTP connection stayed open after Stop"
    assert recorded.closed_at is not None and recorded.closed_at - pressed < 0.5
    assert response is not None and response.status == "interrupted"
    assert chat.turns[-1]["status"] == "interrupted"
    assert chat.turns[-1]["content"] == "Partial answer"
    # A stopped answer the user saw stays in the history.
    assert chat.messages[-1] == {"role": "assistant", "content": "Partial answer"}


def endless(tiny_model: Path) -> Chat:
    return nbstream.chat(f"llama:{tiny_model}", temperature=0, max_tokens=100_000)


def test_stop_ends_the_llama_loop_within_half_a_second(tiny_model: Path) -> None:
    chat = endless(tiny_model)
    chat.send("Hello world")
    deadline = time.monotonic() + 20
    while sum(len(d["text"]) for d in custom(chat, "delta")) < 200:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pressed = time.monotonic()
    chat.stop()
    response = chat.wait(0.5)
    assert time.monotonic() - pressed < 0.5
    assert response is not None and response.status == "interrupted"
    assert response.tokens > 10
    lock = get_model(str(tiny_model)).lock
    assert lock.acquire(blocking=False), "the model lock was not released"
    lock.release()


def test_the_model_lock_is_shared_with_other_generations(tiny_model: Path) -> None:
    chat = endless(tiny_model)
    chat.send("Hello world")
    deadline = time.monotonic() + 20
    while not custom(chat, "delta"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # A %%llm-style generation on the same model waits for the chat's answer...
    result: list[str] = []
    other = threading.Thread(
        target=lambda: result.append(
            nbstream.stream("Hello", model=f"llama:{tiny_model}", temperature=0, max_tokens=5)
            .run()
            .status
        )
    )
    other.start()
    other.join(0.3)
    assert other.is_alive() and not result
    # ...and runs once Stop has released the model.
    chat.stop()
    other.join(10)
    assert result == ["done"]


# --- errors ----------------------------------------------------------------------------


def test_unreachable_server_is_one_sentence_in_place_and_left_out_of_history() -> None:
    with ScriptedServer() as gone:
        url = gone.url
    chat = nbstream.chat("openai:m", base_url=url + "/v1")
    chat.send("Hello?")
    response = chat.wait(15)
    assert response is not None and response.status == "error"
    turn = chat.turns[-1]
    assert turn["status"] == "error" and turn["content"] == ""
    assert "127.0.0.1" in turn["error"] and "\n" not in turn["error"]
    assert chat.messages == []  # the next question does not follow an unanswered one
    assert [t["in_history"] for t in chat.turns] == [False, False]


def test_http_401_and_mid_stream_error_keep_the_partial_text(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    server.play(
        Script(
            status=401,
            headers=(("Content-Type", "application/json"),),
            body=[b'{"error": {"message": "Incorrect API key"}}'],
            framing="length",
        )
    )
    chat = openai_chat(server)
    chat.send("One")
    chat.wait(15)
    assert chat.turns[-1]["status"] == "error"
    assert "401" in chat.turns[-1]["error"]
    error_event = sse({"error": {"message": "model overloaded"}}, done=False)
    server.play(openai_words("Half", " an", tail=[*error_event]))
    chat.send("Two")
    chat.wait(15)
    turn = chat.turns[-1]
    assert turn["status"] == "error" and turn["content"] == "Half an"
    assert "overloaded" in turn["error"]
    assert "sk-secret-value-123" not in json.dumps(chat.comm.published)


def test_a_connection_reset_mid_answer_is_an_error_with_the_text_kept(
    server: ScriptedServer,
) -> None:
    server.play(openai_words("Kept", " text", tail=[0.05, RESET]))
    chat = openai_chat(server)
    chat.send("Go")
    chat.wait(15)
    assert chat.turns[-1]["status"] == "error"
    assert chat.turns[-1]["content"] == "Kept text"


# --- model, reset, second views ----------------------------------------------------------


def test_model_can_be_switched_from_the_front_end_and_bad_specs_are_refused(
    server: ScriptedServer,
) -> None:
    chat = openai_chat(server)
    front_end(chat, type="model", model="ollama:llama3.2")
    assert chat.model == "ollama:llama3.2" and chat.model_label == "ollama:llama3.2"
    front_end(chat, type="model", model="nonsense-model")
    assert chat.model == "ollama:llama3.2"
    assert chat.notice.startswith("Unknown model 'nonsense-model'")
    chat.model = "llama:/models/some/qwen.gguf?n_ctx=4096"
    assert chat.model_label == "qwen.gguf"
    with pytest.raises(UsageError):
        chat.model = "nope"


def test_reset_stops_the_answer_and_clears_the_conversation(server: ScriptedServer) -> None:
    server.play(openai_words("Never", " finished", tail=[STALL]))
    chat = openai_chat(server)
    chat.send("Go")
    server.wait_for_request()
    front_end(chat, type="reset")
    assert server.last.closed.wait(0.5)
    assert chat.turns == [] and chat.messages == [] and chat.busy is False
    time.sleep(0.2)  # the stopped worker must not bring its answer back
    assert chat.turns == []
    server.play(openai_words("Fresh"))
    chat.send("Again")
    chat.wait(15)
    assert chat.messages == [
        {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "Fresh"},
    ]


def test_a_view_opened_mid_answer_gets_one_snapshot_then_deltas(server: ScriptedServer) -> None:
    server.play(openai_words("a", "b", "c", "d", "e", "f", pause=0.08))
    chat = openai_chat(server)
    chat.send("Go")
    deadline = time.monotonic() + 5
    while len(custom(chat, "delta")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    front_end(chat, type="hello")
    chat.wait(15)
    messages = custom(chat)
    at = next(i for i, m in enumerate(messages) if m["type"] == "snapshot")
    snapshot = messages[at]
    assert snapshot["text"] == "".join(m["text"] for m in messages[:at])
    # A view that starts from the snapshot and applies later deltas sees the whole text.
    assert snapshot["text"] + "".join(m["text"] for m in messages[at + 1 :]) == "abcdef"


def test_starting_messages_and_a_stable_repr(server: ScriptedServer) -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    chat = openai_chat(server, messages=history)
    assert chat.messages == history
    assert repr(chat) == "Chat(model='openai:test-model', messages=2)"
    assert "0x" not in repr(chat)
    with pytest.raises(UsageError, match="system="):
        openai_chat(server, messages=[{"role": "system", "content": "x"}])


def test_the_transcript_is_safe_markdown_and_plain_text(server: ScriptedServer) -> None:
    evil = 'See <img src=x onerror="alert(1)"> and `<b>` and\n```html\n<script>x()</script>\n```'
    chat = openai_chat(server, messages=[{"role": "user", "content": "q"}])
    chat.turns = [*chat.turns, {"role": "assistant", "content": evil, "status": "done"}]
    bundle = chat._transcript_bundle()
    markdown = bundle["text/markdown"]
    assert markdown.startswith("**nbstream chat** · `openai:test-model` · 2 messages")
    assert "&lt;img src=x" in markdown and "<img" not in markdown
    assert "`<b>`" in markdown and "<script>x()</script>" in markdown  # code stays code
    assert bundle["text/plain"].splitlines()[0] == "nbstream chat · openai:test-model · 2 messages"


# --- in a real kernel --------------------------------------------------------------------


def test_in_a_kernel_the_cell_is_free_while_streaming_and_the_transcript_updates(
    server: ScriptedServer,
) -> None:
    server.play(openai_words(*[f"w{i} " for i in range(10)], pause=0.1, tail=[STALL]))
    kernel = Kernel()
    try:
        shown = kernel.run(
            f"import nbstream\nchat = nbstream.chat('openai:m', base_url='{server.url}/v1')\nchat"
        )
        assert shown.status == "ok"
        datas = [m["content"]["data"] for m in shown.displays]
        assert "application/vnd.jupyter.widget-view+json" in datas[0]
        assert datas[0]["text/plain"] == "Chat(model='openai:m', messages=0)"
        assert datas[1]["text/plain"].startswith("nbstream chat · openai:m · 0 messages")
        display_id = shown.displays[1]["content"]["transient"]["display_id"]
        comm_id = kernel.value("chat.comm.comm_id")

        started = time.monotonic()
        sent = kernel.run("chat.send('Count')")
        assert sent.status == "ok"
        other = kernel.run("print(21 * 2)")
        assert other.stdout.strip() == "42"
        assert time.monotonic() - started < 1.0  # both cells ended while the answer streams
        server.wait_for_request()

        # The Stop button: a comm message from the front end, handled while no cell runs.
        time.sleep(0.35)
        content = {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "stop"}}}
        pressed = time.monotonic()
        kernel.client.shell_channel.send(kernel.client.session.msg("comm_msg", content))
        # The saved transcript display is replaced (by display id) once the answer ends.
        update = next_update_display(kernel, display_id)
        assert time.monotonic() - pressed < 0.5, "the answer did not end within 0.5 s of Stop"
        first = server.last
        assert first.closed.wait(0.5), "Stop did not reach the HTTP connection"
        assert first.closed_at is not None and first.closed_at - pressed < 0.5
        assert update["data"]["text/markdown"].startswith("**nbstream chat** · `openai:m` · 2")
        assert "■ stopped" in update["data"]["text/markdown"]
        final = kernel.value("[chat.wait(15).status, chat.turns[-1]['content']]")
        assert final[0] == "interrupted" and final[1].startswith("w0 w1 ")

        # A kernel interrupt while a cell waits for the answer stops the answer too.
        server.play(openai_words("More", tail=[STALL]))
        waiting = kernel.submit("chat.send('Again'); chat.wait()")
        second = server.wait_for_request(2)
        time.sleep(0.3)
        sent = time.monotonic()
        kernel.interrupt()
        # The answer has ended when its transcript is published (before the cell's error).
        update = next_update_display(kernel, display_id)
        assert time.monotonic() - sent < 0.5, "the answer did not end within 0.5 s of the interrupt"
        assert "Again" in update["data"]["text/markdown"]
        assert second.closed.wait(0.5), "the interrupt did not hang up on the server"
        assert second.closed_at is not None and second.closed_at - sent < 0.5
        assert kernel.collect(waiting).status == "error"
        assert kernel.value("[chat.busy, chat.turns[-1]['status']]") == [False, "interrupted"]
    finally:
        kernel.shutdown()


def next_update_display(kernel: Kernel, display_id: str, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kernel.client.get_iopub_msg(timeout=0.1)
        except Exception:
            continue
        content = msg["content"]
        if (
            msg["msg_type"] == "update_display_data"
            and content["transient"]["display_id"] == display_id
        ):
            return dict(content)
    raise TimeoutError("no update_display_data for the transcript")


# --- the front end's Markdown renderer ---------------------------------------------------

# Just enough of a DOM for chat.js's renderer: elements, text nodes, textContent.
NODE_HARNESS = r"""
class Element {
  constructor(tag) { this.tagName = tag.toUpperCase(); this.childNodes = []; this.dataset = {}; }
  append(...nodes) {
    for (const n of nodes) this.childNodes.push(typeof n === "string" ? { text: n } : n);
  }
  replaceChildren(...nodes) { this.childNodes = []; this.append(...nodes); }
  set textContent(value) { this.childNodes = [{ text: value }]; }
  get textContent() { return this.childNodes.map((n) => n.text ?? n.textContent).join(""); }
  get childElementCount() { return this.childNodes.filter((n) => n.tagName).length; }
  get firstChild() { return this.childNodes[0]; }
}
globalThis.document = {
  createElement: (t) => new Element(t),
  createTextNode: (t) => ({ text: t }),
};
const { renderMarkdown } = await import(process.argv[1]);
const tree = (n) => n.tagName
  ? [n.tagName + (n.href ? ` ${n.href}` : ""), ...n.childNodes.map(tree)]
  : n.text;
const inputs = JSON.parse(process.argv[2]);
console.log(JSON.stringify(inputs.map((source) => {
  const root = new Element("div");
  renderMarkdown(root, source);
  return root.childNodes.map(tree);
})));
"""


def render_markdown(*sources: str) -> list[Any]:
    script = Path(__file__).parent.parent / "nbstream" / "static" / "chat.js"
    harness = ["node", "--input-type=module", "-e", NODE_HARNESS, str(script), json.dumps(sources)]
    done = subprocess.run(harness, capture_output=True, text=True, timeout=30, check=True)
    rendered: list[Any] = json.loads(done.stdout)
    return rendered


def test_the_widget_renders_markdown_and_never_html() -> None:
    evil, links, blocks, endless = render_markdown(
        '<img src=x onerror="alert(1)"> <script>alert(2)</script> window.__x=1">',
        "[a](javascript:alert(1)) [b](https://example.org) see https://a.b/c.",
        "## Title\n\n- **bold** and `code`\n- two\n\n```py\nx < 1\n```",
        "**a *b* c** __d__ _e_ ~~f~~ ```open fence\nstill code",
    )
    assert evil == [
        ["P", '<img src=x onerror="alert(1)"> <script>alert(2)</script> window.__x=1">']
    ]
    assert ["A https://example.org", "b"] in links[0]
    assert ["A https://a.b/c", "https://a.b/c"] in links[0]
    assert not any(isinstance(n, list) and "javascript" in n[0] for n in links[0])
    assert blocks[0] == ["H4", "Title"]
    assert blocks[1][0] == "UL" and blocks[1][1] == [
        "LI",
        ["STRONG", "bold"],
        " and ",
        ["CODE", "code"],
    ]
    assert blocks[2] == ["PRE", ["CODE", "x < 1"]]
    assert endless[0][1] == ["STRONG", "a ", ["EM", "b"], " c"]
