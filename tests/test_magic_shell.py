"""``%%llm`` in IPython's shell in this process: the quick cases, in milliseconds each.

The same promises as :mod:`tests.test_magic_kernel`, read from the same message shapes
(:mod:`tests.shell`), against the same peers: the scripted HTTP server and the tiny
generated model. What needs a kernel process — interrupts delivered by the kernel
manager, IOPub timing and rates, comms — stays in the kernel tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbstream._types import Image

from .kernel import MIME, one_line_error
from .servers.scripted import STALL, Script, ScriptedServer, answer, chat_delta, sse
from .shell import Messages, Shell

SECRET = "sk-nbstream-shell-Pq7WmX3rK8vN"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer("ok")) as running:
        yield running


@pytest.fixture(autouse=True)
def endpoint(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.delenv("NBSTREAM_REPLAY", raising=False)
    monkeypatch.delenv("NBSTREAM_RECORD", raising=False)


def test_bad_options_are_one_line_and_send_nothing(shell: Shell, server: ScriptedServer) -> None:
    before = len(server.requests)
    cells = (
        "%%llm openai:m --temperature hot\nHi",
        "%%llm openai:m --nope\nHi",
        "%%llm openai:m -o 1bad\nHi",
        "%%llm openai:m -s 'unclosed\nHi",
        "%llm openai:m",
    )
    for cell in cells:
        run = shell.run(cell)
        assert one_line_error(run), cell
        assert run.errors[0]["content"]["ename"] == "UsageError", cell
        assert not run.displays, cell
    assert "No prompt" in one_line_error(shell.run("%llm openai:m"))
    assert shell.run("%%llm nosuch\nHi").errors[0]["content"]["ename"] == "UsageError"
    assert len(server.requests) == before
    assert shell.run("1 + 1").status == "ok"


def test_an_answer_goes_to_out_and_underscore(shell: Shell, server: ScriptedServer) -> None:
    server.play(answer("Hello", ", ", "wörld 🌍"))
    run = shell.run("%%llm openai:m -o answer\nSay hello")
    assert run.status == "ok", run.errors
    assert len(run.displays) == 1
    assert run.final[MIME]["text"] == "Hello, wörld 🌍"
    assert run.final[MIME]["status"] == "done"
    # Updates replace the one display, by its id.
    display_id = run.displays[0]["content"]["transient"]["display_id"]
    assert {u["content"]["transient"]["display_id"] for u in run.updates} == {display_id}
    assert shell.value("[answer.text, _llm.text, answer.status, answer is _llm]") == [
        "Hello, wörld 🌍",
        "Hello, wörld 🌍",
        "done",
        True,
    ]
    assert server.last.json()["messages"] == [{"role": "user", "content": "Say hello"}]
    assert SECRET not in run.everything()


def test_dry_run_interpolates_and_sends_nothing(shell: Shell, server: ScriptedServer) -> None:
    shell.run('topic = "the sea"\nclass P: name = "Ada"\np = P()')
    before = len(server.requests)
    cell = '%%llm openai:m --dry-run\nAbout {topic} by {p.name}: {"a": {"b": 1}} {nope} {{topic}}'
    run = shell.run(cell)
    assert run.status == "ok", run.errors
    (display,) = run.displays
    shown = display["content"]["data"]["text/markdown"]
    assert shown.startswith("**Dry run** — nothing was sent to `openai:m`.")
    assert 'About the sea by Ada: {\\"a\\": {\\"b\\": 1}} {nope} {topic}' in shown
    assert SECRET not in run.everything()
    assert len(server.requests) == before
    server.play(answer("x"))
    shell.run("%%llm openai:m --no-interpolate\n{topic}")
    assert server.last.json()["messages"][-1]["content"] == "{topic}"


def test_dry_run_estimates_the_prompts_size(shell: Shell, server: ScriptedServer) -> None:
    shell.run('words = "w" * 3999')
    run = shell.run("%%llm openai:m -s 'Be brief.' --dry-run\n{words}!")
    shown = run.displays[0]["content"]["data"]["text/markdown"]
    assert shown.endswith(
        "\n\nPrompt size: 4,009 characters, about 1,003 tokens (characters ÷ 4; the model's "
        "tokenizer decides the real count)."
    )


def test_images_named_in_a_cell_reach_the_request(
    shell: Shell, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = Image(b"\x89PNG", "image/png", 2, 2)
    # Until _images.to_image knows real images: a stand-in that calls one value an image.
    monkeypatch.setattr(
        "nbstream._prompt.to_image", lambda value: picture if value == "PICTURE" else None
    )
    shell.run('fig = "PICTURE"')
    run = shell.run("%%llm openai:m --dry-run\nLook: {fig} and {fig}")
    shown = run.displays[0]["content"]["data"]["text/markdown"]
    assert "Look: [image 1] and [image 2]" in shown
    assert shown.endswith(", plus 2 images (not counted).")


def test_alias_and_use(shell: Shell, server: ScriptedServer) -> None:
    assert shell.run("%llm alias terse openai:terse-model -n 7").status == "ok"
    listing = shell.run("%llm alias").displays[0]["content"]["data"]["text/markdown"]
    assert listing == "- `terse` → `openai:terse-model -n 7`"
    server.play(answer("a"))
    shell.run("%%llm terse -n 9\nHi")
    assert server.last.json()["model"] == "terse-model"
    assert server.last.json()["max_tokens"] == 9
    used = shell.run("%llm use terse")
    assert (
        used.displays[0]["content"]["data"]["text/markdown"]
        == "Default model: `openai:terse-model`"
    )
    server.play(answer("b"))
    assert shell.run("%%llm\nHi").status == "ok"
    assert server.last.json()["max_tokens"] == 7
    bad = shell.run("%llm alias 1x openai:m")
    assert "%llm alias NAME SPEC" in one_line_error(bad)
    assert "Unknown model" in one_line_error(shell.run("%llm use nosuch"))


def test_chat_continues_and_resets(shell: Shell, server: ScriptedServer) -> None:
    server.play(answer("Paris"), answer("Paris, en français"))
    shell.run("%%llm openai:m -c -s 'Be terse.'\nCapital of France?")
    shell.run("%%llm -c openai:m\nAnd in French?")
    messages = server.last.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Paris"
    history = shell.run("%llm history")
    assert "Paris" in history.displays[0]["content"]["data"]["text/markdown"]
    shell.run("%llm reset")
    server.play(answer("?"))
    shell.run("%%llm openai:m -c\nWhat did I ask?")
    assert len(server.last.json()["messages"]) == 1


def test_an_error_mid_stream_is_one_line_with_the_text_kept(
    shell: Shell, server: ScriptedServer
) -> None:
    events = sse(
        chat_delta("half an "), chat_delta("answer"), {"error": {"message": "model crashed"}}
    )
    server.play(Script(body=events))
    run = shell.run("%%llm openai:m\nTry")
    assert "model crashed" in one_line_error(run)
    assert run.final[MIME]["status"] == "error"
    assert run.final[MIME]["text"] == "half an answer"
    assert shell.value("[_llm.status, _llm.text]") == ["error", "half an answer"]


def shows(text: str) -> Any:
    """``interrupt_when``: once an update shows ``text``."""

    def ready(messages: Messages) -> bool:
        updates = [m for m in list(messages) if m["msg_type"] == "update_display_data"]
        return any(u["content"]["data"][MIME]["text"] == text for u in updates)

    return ready


def test_an_interrupted_stream_keeps_its_text_and_says_so(
    shell: Shell, server: ScriptedServer
) -> None:
    server.play(
        Script(body=[*sse(chat_delta(role="assistant"), chat_delta("partial"), done=False), STALL])
    )
    run = shell.run("%%llm openai:m -o kept\nTalk slowly", interrupt_when=shows("partial"))
    assert server.last.closed.wait(0.5), "the server kept the connection"
    assert "stopped" in one_line_error(run)
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    assert run.final[MIME]["status"] == "interrupted"
    assert run.final[MIME]["text"] == "partial"
    assert shell.value("[_llm.status, _llm.text, kept is _llm]") == [
        "interrupted",
        "partial",
        True,
    ]
    server.play(answer("again"))
    assert shell.run("%%llm openai:m\nStill there?").status == "ok"


def test_the_tiny_model_in_the_shell(shell: Shell, tiny_model: Path) -> None:
    run = shell.run(f"%%llm llama:{tiny_model} -t 0 -n 20\nOnce upon a time")
    assert run.status == "ok", run.errors
    payload = run.final[MIME]
    assert payload["status"] == "done" and payload["finish_reason"] == "length"
    assert payload["usage"]["completion_tokens"] == 20
    assert shell.value("_llm.usage.completion_tokens") == 20
