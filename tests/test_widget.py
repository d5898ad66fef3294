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

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import ipywidgets
import pytest
from comm.base_comm import BaseComm

import nbstream
from nbstream import _budget
from nbstream._exceptions import UsageError
from nbstream._specs import Registry
from nbstream.backends.llamacpp._models import get_model
from nbstream.chat._widget import Chat

from .kernel import Kernel
from .servers.scripted import RESET, STALL, Script, ScriptedServer, chat_delta, sse


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
    sent = chat.widget.comm.published
    found = [d["content"] for t, d in list(sent) if t == "comm_msg" and d["method"] == "custom"]
    return [m for m in found if kind is None or m["type"] == kind]


def updates(chat: Chat) -> list[dict[str, Any]]:
    sent = chat.widget.comm.published
    return [d["state"] for t, d in list(sent) if t == "comm_msg" and d["method"] == "update"]


def front_end(chat: Chat, **content: Any) -> None:
    """Deliver a custom message the way the widget manager does."""
    chat.widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


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
    assert chat.widget.turns[-1]["content"] == "Hello, **world**!"
    assert chat.widget.turns[-1]["status"] == "done"
    assert chat.widget.busy is False
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
    assert chat.widget.notice.startswith("The chat is still answering")
    chat.wait(15)
    assert [t["role"] for t in chat.widget.turns] == ["user", "assistant"]
    assert chat.widget.turns[1]["content"] == "one two three"
    assert len(server.requests) == 1
    assert {d["gen"] for d in custom(chat, "delta")} == {1}
    # Once the answer ended, sending works again and clears the notice.
    server.play(openai_words("four"))
    front_end(chat, type="send", text="Third")
    chat.wait(15)
    assert chat.widget.notice == ""
    assert [t["content"] for t in chat.widget.turns] == ["First", "one two three", "Third", "four"]


def test_empty_input_is_not_sent(server: ScriptedServer) -> None:
    chat = openai_chat(server)
    with pytest.raises(UsageError, match="Nothing to send"):
        chat.send("   ")
    front_end(chat, type="send", text="")
    assert chat.widget.notice.startswith("Nothing to send")
    assert chat.widget.turns == [] and server.requests == []


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
    assert chat.widget.turns[-1]["status"] == "interrupted"
    assert chat.widget.turns[-1]["content"] == "Partial answer"
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
            .response()
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
    turn = chat.widget.turns[-1]
    assert turn["status"] == "error" and turn["content"] == ""
    assert "127.0.0.1" in turn["error"] and "\n" not in turn["error"]
    assert chat.messages == []  # the next question does not follow an unanswered one
    assert [t["in_history"] for t in chat.widget.turns] == [False, False]


def test_http_401_and_mid_stream_error_keep_the_partial_text(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    server.play(
        Script(
            status=401,
            headers=(("Content-Type", "application/json"),),
            body=[b'{"error": {"message": "Incorrect API key sk-secret-value-123"}}'],
            framing="length",
        )
    )
    chat = openai_chat(server)
    chat.send("One")
    chat.wait(15)
    assert chat.widget.turns[-1]["status"] == "error"
    assert "401" in chat.widget.turns[-1]["error"]
    error_event = sse({"error": {"message": "model overloaded"}}, done=False)
    server.play(openai_words("Half", " an", tail=[*error_event]))
    chat.send("Two")
    chat.wait(15)
    turn = chat.widget.turns[-1]
    assert turn["status"] == "error" and turn["content"] == "Half an"
    assert "overloaded" in turn["error"]
    assert "sk-secret-value-123" not in json.dumps(chat.widget.comm.published)


def test_a_key_echoed_across_two_events_never_crosses_the_wire_in_part(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-widget-secret-Hq42Zr8Lp"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    cut = len(key) // 2
    # The server echoes the key it received, split across two events; the pause between
    # them is where a delta and the snapshot for a newly opened view are sent.
    first = sse(chat_delta(f"you sent {key[:cut]}"), done=False)
    rest = sse(chat_delta(f"{key[cut:]} back"), chat_delta(finish="stop"))
    server.play(Script(body=[*first, 1.5, *rest]))
    chat = openai_chat(server)
    chat.send("Echo my key")
    deadline = time.monotonic() + 10
    while not any("you sent" in d["text"] for d in custom(chat, "delta")):
        assert time.monotonic() < deadline, custom(chat)
        time.sleep(0.01)
    front_end(chat, type="hello")  # a view opened mid-answer
    response = chat.wait(15)
    assert server.last.headers["authorization"] == f"Bearer {key}"
    assert response is not None and response.text == "you sent *** back"
    (snapshot,) = custom(chat, "snapshot")
    assert snapshot["text"].startswith("you sent")  # it really was mid-answer
    assert "".join(d["text"] for d in custom(chat, "delta")) == "you sent *** back"
    # No piece of the key of 8 characters or more: not in a delta, the snapshot, a trait
    # update or the saved transcript (any longer piece contains the first 8).
    wire = json.dumps(chat.widget.comm.published)
    transcript = json.dumps(chat._transcript_bundle())
    assert key[:8] not in wire and key[:8] not in transcript
    assert "***" in transcript


def test_a_connection_reset_mid_answer_is_an_error_with_the_text_kept(
    server: ScriptedServer,
) -> None:
    server.play(openai_words("Kept", " text", tail=[0.05, RESET]))
    chat = openai_chat(server)
    chat.send("Go")
    chat.wait(15)
    assert chat.widget.turns[-1]["status"] == "error"
    assert chat.widget.turns[-1]["content"] == "Kept text"


# --- aliases: the same request as everywhere else ---------------------------------------


def test_an_alias_keeps_its_options_in_the_chat(
    server: ScriptedServer, registry: Registry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with ScriptedServer(openai_words("wrong host")) as default:
        monkeypatch.setenv("OPENAI_BASE_URL", default.url + "/v1")
        recording = tmp_path / "chat.jsonl"
        registry.aliases["local"] = (
            f"openai:local-model --base-url {server.url}/v1 -t 0.25 -s Terse. --record {recording}"
        )
        server.respond = openai_words("ok")
        by_name = nbstream.chat(model="local")
        by_name.send("One")
        by_name.wait(15)
        switched = nbstream.chat("openai:elsewhere")
        switched.model = "local"
        switched.send("Two")
        switched.wait(15)
        clicked = nbstream.chat("openai:elsewhere")
        front_end(clicked, type="model", model="local")
        clicked.send("Three")
        clicked.wait(15)
        registry.current = "local"  # %llm use local
        default_chat = nbstream.chat()
        default_chat.send("Four")
        default_chat.wait(15)
        assert default.requests == []
        assert default_chat.model == "local"
        bodies = [r.json() for r in server.requests]
        assert [b["messages"][-1]["content"] for b in bodies] == ["One", "Two", "Three", "Four"]
        for body in bodies:
            assert body["model"] == "local-model" and body["temperature"] == 0.25
            assert body["messages"][0] == {"role": "system", "content": "Terse."}
        assert len(recording.read_text().splitlines()) == 4
        # The chat's own system prompt and options override the alias's.
        mine = nbstream.chat(model="local", system="Verbose.", temperature=0.75)
        mine.send("Five")
        mine.wait(15)
        assert server.last.json()["temperature"] == 0.75
        assert server.last.json()["messages"][0]["content"] == "Verbose."
        mine.options["base_url"] = default.url + "/v1"
        mine.send("Six")
        mine.wait(15)
        assert len(default.requests) == 1


# --- model, reset, second views ----------------------------------------------------------


def test_model_can_be_switched_from_the_front_end_and_bad_specs_are_refused(
    server: ScriptedServer,
) -> None:
    chat = openai_chat(server)
    front_end(chat, type="model", model="ollama:llama3.2")
    assert chat.model == "ollama:llama3.2" and chat.widget.model_label == "ollama:llama3.2"
    front_end(chat, type="model", model="nonsense-model")
    assert chat.model == "ollama:llama3.2"
    assert chat.widget.notice.startswith("Unknown model 'nonsense-model'")
    chat.model = "llama:/models/some/qwen.gguf?n_ctx=4096"
    assert chat.widget.model_label == "qwen.gguf"
    with pytest.raises(UsageError):
        chat.model = "nope"


def test_reset_stops_the_answer_and_clears_the_conversation(server: ScriptedServer) -> None:
    server.play(openai_words("Never", " finished", tail=[STALL]))
    chat = openai_chat(server)
    chat.send("Go")
    server.wait_for_request()
    front_end(chat, type="reset")
    assert server.last.closed.wait(0.5)
    assert chat.widget.turns == [] and chat.messages == [] and chat.widget.busy is False
    time.sleep(0.2)  # the stopped worker must not bring its answer back
    assert chat.widget.turns == []
    server.play(openai_words("Fresh"))
    chat.send("Again")
    chat.wait(15)
    assert chat.messages == [
        {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "Fresh"},
    ]


def test_a_view_opened_mid_answer_gets_one_snapshot_then_deltas(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # About the order of snapshot and deltas: a budget wide enough for a delta per word
    # (the byte budget itself is tested in test_chat_generation.py).
    monkeypatch.setattr(_budget, "DELTA_RATIO", 100.0)
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


def test_the_chat_owns_its_widget_whose_send_keeps_its_ipywidgets_meaning(
    server: ScriptedServer,
) -> None:
    chat = openai_chat(server)
    assert not isinstance(chat, ipywidgets.Widget) and isinstance(chat.widget, ipywidgets.Widget)
    # ipywidgets' send(content, buffers): a custom message to the front end, not a question.
    chat.widget.send({"type": "ping"}, None)
    assert custom(chat, "ping") == [{"type": "ping"}]
    assert server.requests == [] and chat.messages == []
    # Displaying the chat displays its widget, with the same stable text.
    data, _metadata = chat._repr_mimebundle_()
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == chat.widget.model_id == chat.widget.comm.comm_id
    assert data["text/plain"] == repr(chat) == repr(chat.widget)
    assert repr(chat) == "Chat(model='openai:test-model', messages=0)"


def test_the_transcript_is_safe_markdown_and_plain_text(server: ScriptedServer) -> None:
    evil = 'See <img src=x onerror="alert(1)"> and `<b>` and\n```html\n<script>x()</script>\n```'
    chat = openai_chat(server, messages=[{"role": "user", "content": "q"}])
    chat.widget.turns = [
        *chat.widget.turns,
        {"role": "assistant", "content": evil, "status": "done"},
    ]
    bundle = chat._transcript_bundle()
    markdown = bundle["text/markdown"]
    assert markdown.startswith("**nbstream chat** · `openai:test-model` · 2 messages")
    assert "&lt;img src=x" in markdown and "<img" not in markdown
    assert "`<b>`" in markdown and "<script>x()</script>" in markdown  # code stays code
    assert bundle["text/plain"].splitlines()[0] == "nbstream chat · openai:test-model · 2 messages"
    # nbstream's front end renders the messages themselves, through its untrusted path.
    payload = bundle["application/vnd.nbstream.transcript.v1+json"]
    assert payload["model"] == "openai:test-model"
    assert payload["turns"][1] == {"role": "assistant", "content": evil, "status": "done"}


# --- images ----------------------------------------------------------------------------


def a_png(width: int, height: int) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), "green").save(buffer, format="PNG")
    return buffer.getvalue()


def received(url: str) -> tuple[str, tuple[int, int]]:
    """The MIME type and pixel size of a data URI, decoded by PIL."""
    from PIL import Image as PILImage

    head, _, payload = url.partition(",")
    picture = PILImage.open(io.BytesIO(base64.b64decode(payload)))
    return head, picture.size


def test_send_with_images_sends_them_keeps_them_in_messages_and_saves_placeholders(
    server: ScriptedServer,
) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
    ax.plot([1, 2, 3])
    server.play(openai_words("A line."), openai_words("Still a line."))
    chat = openai_chat(server)
    chat.send("What does this show?", images=[fig])
    assert chat.wait(15).status == "done"  # type: ignore[union-attr]
    parts = server.last.json()["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What does this show?"}
    assert received(parts[1]["image_url"]["url"]) == ("data:image/png;base64", (200, 150))
    # chat.messages: role and content, plus the images only where there are some.
    first, answer = chat.messages
    assert set(first) == {"role", "content", "images"} and answer == {
        "role": "assistant",
        "content": "A line.",
    }
    (image,) = first["images"]
    assert (image.mime, image.width, image.height) == ("image/png", 200, 150)
    # The widget's turn carries a thumbnail and a placeholder line.
    (shown,) = chat.widget.turns[0]["images"]
    assert shown["src"].startswith("data:image/png;base64,")
    label = f"[image: PNG, 200×150 px, {len(image.data):,} bytes]"
    assert shown["label"] == label
    # The next question carries the image again, as history.
    chat.send("And now?")
    chat.wait(15)
    history = server.last.json()["messages"]
    assert [type(m["content"]).__name__ for m in history] == ["list", "str", "str"]
    # What is saved in the notebook: placeholders, never the bytes.
    bundle = chat._transcript_bundle()
    payload = bundle["application/vnd.nbstream.transcript.v1+json"]
    saved = payload["turns"][0]["images"][0]
    assert "src" not in saved and saved["label"] == label and saved["sha256"] == image.sha256
    assert f"*{label}*" in bundle["text/markdown"]
    assert label in bundle["text/plain"].splitlines()
    assert "base64" not in json.dumps(bundle)
    # A new chat can start from these messages, images included.
    assert openai_chat(server, messages=chat.messages).messages == chat.messages
    plt.close(fig)


def test_a_pasted_image_arrives_as_a_buffer_and_bad_ones_are_one_sentence(
    server: ScriptedServer,
) -> None:
    server.play(openai_words("A green square."))
    chat = openai_chat(server)
    pasted = a_png(12, 9)
    chat.widget._handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {"type": "send", "text": "", "images": [{"mime": "image/png"}]},
                }
            },
            "buffers": [memoryview(pasted)],
        }
    )
    assert chat.wait(15).status == "done"  # type: ignore[union-attr]
    (part,) = server.last.json()["messages"][0]["content"][1:]
    assert received(part["image_url"]["url"]) == ("data:image/png;base64", (12, 9))
    assert chat.messages[0]["images"][0].data == pasted
    # Not an image: the notice says so, and nothing more is sent.
    chat.widget._handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {"type": "send", "text": "x", "images": [{"mime": "image/png"}]},
                }
            },
            "buffers": [memoryview(b"%PDF-1.7 not a picture")],
        }
    )
    assert chat.widget.notice == (
        "The image data (22 bytes) is not PNG, JPEG, GIF or WEBP; save it in one of those "
        "formats and send that."
    )
    with pytest.raises(UsageError) as info:
        chat.send("What is this?", images=["plot.png"])
    assert str(info.value).startswith("Image 1 is a str, not an image;")
    assert len(server.requests) == 1


# --- in a real kernel --------------------------------------------------------------------


@pytest.mark.kernel
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
        comm_id = kernel.value("chat.widget.comm.comm_id")

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
        final = kernel.value("[chat.wait(15).status, chat.widget.turns[-1]['content']]")
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
        assert kernel.value("[chat.widget.busy, chat.widget.turns[-1]['status']]") == [
            False,
            "interrupted",
        ]
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
