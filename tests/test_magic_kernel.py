"""``%%llm`` through a real kernel: what a notebook user sees, message by message.

The in-kernel model is the generated tiny GGUF (real llama-cpp-python); the HTTP peer is
the scripted server (a real socket), which also tells us when the kernel hung up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .kernel import MIME, Kernel, one_line_error, stamp
from .servers.scripted import STALL, Script, ScriptedServer, answer, chat_delta, sse

SECRET = "sk-nbstream-test-Zq8XvL2pT9wK"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer("ok")) as running:
        yield running


@pytest.fixture(scope="module")
def kernel(server: ScriptedServer) -> Iterator[Kernel]:
    k = Kernel(env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": f"{server.url}/v1"})
    setup = k.run("%load_ext nbstream")
    assert setup.status == "ok", setup.errors
    yield k
    k.shutdown()


# -- in-kernel llama.cpp ---------------------------------------------------------------


def test_fast_stream_is_coalesced_and_final_is_complete(kernel: Kernel, tiny_model: Path) -> None:
    run = kernel.run(f"%%llm llama:{tiny_model} -t 0 -n 3000\nOnce upon a time")
    assert run.status == "ok", run.errors
    assert len(run.displays) == 1
    assert not run.of("execute_result"), "the magic must not return a value"
    first, last = stamp(run.displays[0]), stamp(run.updates[-1])
    assert len(run.updates) <= 1 + 20 * (last - first) + 1
    final = run.final
    payload = final[MIME]
    assert payload["status"] == "done"
    assert payload["usage"]["completion_tokens"] == 3000
    assert payload["finish_reason"] == "length"
    assert final["text/markdown"].startswith(payload["text"][:50])
    assert "3000 tokens" in final["text/markdown"]
    assert run.stdout == "", "llama.cpp logs must not reach the cell"
    assert kernel.value("[_llm.status, _llm.usage.completion_tokens, len(_llm.text) > 0]") == [
        "done",
        3000,
        True,
    ]


def test_interrupt_stops_llama_within_half_a_second(kernel: Kernel, tiny_model: Path) -> None:
    msg_id = kernel.submit(f"%%llm llama:{tiny_model}?n_ctx=8192 -t 0 -n 8000\nGo on and on")
    kernel.wait_for(msg_id, "update_display_data")
    sent = time.time()  # the kernel stamps its messages with this clock
    kernel.interrupt()
    run = kernel.collect(msg_id)
    # The kernel published the interrupted answer and the error line within 0.5 s.
    assert stamp(run.errors[0]) - sent < 0.5
    assert "stopped" in one_line_error(run)
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    payload = run.final[MIME]
    assert payload["status"] == "interrupted"
    assert 0 < payload["tokens"] < 8000
    assert kernel.value("[_llm.status, len(_llm.text) > 0]") == ["interrupted", True]
    again = kernel.run(f"%%llm llama:{tiny_model}?n_ctx=8192 -t 0 -n 5\nStill there?")
    assert again.status == "ok", again.errors
    assert again.final[MIME]["usage"]["completion_tokens"] == 5


# -- HTTP backends through the scripted server ------------------------------------------


def test_openai_answer_out_and_underscore(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(answer("Hello", ", ", "wörld 🌍"))
    run = kernel.run("%%llm openai:m -o answer\nSay hello")
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "Hello, wörld 🌍"
    assert kernel.value("[answer.text, _llm.text, answer.status]") == [
        "Hello, wörld 🌍",
        "Hello, wörld 🌍",
        "done",
    ]
    body = server.last.json()
    assert body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert body["stream"] is True


def test_interrupt_closes_the_http_connection(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(
        Script(body=[*sse(chat_delta(role="assistant"), chat_delta("partial"), done=False), STALL])
    )
    msg_id = kernel.submit("%%llm openai:m\nTalk slowly")
    kernel.wait_for(msg_id, "update_display_data")
    request = server.last
    sent, sent_wall = time.monotonic(), time.time()  # the kernel stamps messages with time()
    kernel.interrupt()
    run = kernel.collect(msg_id)
    assert request.closed.wait(0.5), "the server kept the connection"
    assert request.closed_at is not None and request.closed_at - sent < 0.5
    # The kernel published the interrupted answer and the error line within 0.5 s.
    assert stamp(run.errors[0]) - sent_wall < 0.5
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    assert run.final[MIME]["text"] == "partial"
    assert kernel.value("[_llm.status, _llm.text]") == ["interrupted", "partial"]


def test_error_mid_stream_keeps_text_in_one_line(kernel: Kernel, server: ScriptedServer) -> None:
    events = sse(
        chat_delta("half an "), chat_delta("answer"), {"error": {"message": "model crashed"}}
    )
    server.play(Script(body=events))
    run = kernel.run("%%llm openai:m\nTry")
    message = one_line_error(run)
    assert "model crashed" in message
    payload = run.final[MIME]
    assert payload["status"] == "error" and payload["text"] == "half an answer"
    assert kernel.value("[_llm.status, _llm.text, _llm.error is not None]") == [
        "error",
        "half an answer",
        True,
    ]
    assert kernel.run("1 + 1").status == "ok"


def test_cannot_connect_is_one_sentence(kernel: Kernel) -> None:
    run = kernel.run("%%llm openai:m --base-url http://127.0.0.1:9/v1 --timeout 5\nHi")
    message = one_line_error(run)
    assert "127.0.0.1:9" in message
    assert kernel.value("_llm.status") == "error"


def test_api_key_never_shown(kernel: Kernel, server: ScriptedServer) -> None:
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}"}})
    server.play(
        Script(status=401, headers=(("Content-Type", "application/json"),), body=[echo.encode()])
    )
    runs = [
        kernel.run("%%llm openai:m\nHi"),
        kernel.run("%%llm openai:m --dry-run\nHi"),
        kernel.run("print(repr(_llm)); print(_llm.error)"),
    ]
    assert "OPENAI_API_KEY" in one_line_error(runs[0])
    assert server.requests[-1].headers.get("authorization") == f"Bearer {SECRET}"
    for run in runs:
        assert SECRET not in run.everything()


def test_a_key_echoed_across_two_events_never_shows_in_part(
    kernel: Kernel, server: ScriptedServer
) -> None:
    cut = len(SECRET) // 2
    first = sse(chat_delta(role="assistant"), chat_delta(f"you sent {SECRET[:cut]}"), done=False)
    rest = sse(chat_delta(f"{SECRET[cut:]} back"), chat_delta(finish="stop"))
    # The pause between the halves is where the live output sends its updates.
    server.play(Script(body=[*first, 1.5, *rest]))
    run = kernel.run("%%llm openai:m\nEcho my key")
    assert run.status == "ok", run.errors
    assert server.requests[-1].headers.get("authorization") == f"Bearer {SECRET}"
    shown = [json.dumps(m["content"]) for m in run.displays + run.updates]
    assert any("you sent" in update for update in shown[:-1])  # one came mid-key
    # No piece of the key of 8 characters or more, in any display message (any longer
    # piece contains the first 8).
    for message in shown:
        assert SECRET[:8] not in message
    assert run.final[MIME]["text"] == "you sent *** back"


def test_bad_option_is_one_line_and_sends_nothing(kernel: Kernel, server: ScriptedServer) -> None:
    before = len(server.requests)
    cells = (
        "%%llm openai:m --temperature hot\nHi",
        "%%llm openai:m --nope\nHi",
        "%%llm openai:m -o 1bad\nHi",
    )
    for cell in cells:
        run = kernel.run(cell)
        assert one_line_error(run)
    assert kernel.run("%%llm nosuch\nHi").errors[0]["content"]["ename"] == "UsageError"
    assert len(server.requests) == before


def test_interpolation_and_dry_run(kernel: Kernel, server: ScriptedServer) -> None:
    kernel.run('topic = "the sea"\nclass P: name = "Ada"\np = P()')
    before = len(server.requests)
    cell = '%%llm openai:m --dry-run\nAbout {topic} by {p.name}: {"a": {"b": 1}} {nope} {{topic}}'
    run = kernel.run(cell)
    assert run.status == "ok", run.errors
    shown = run.displays[0]["content"]["data"]["text/markdown"]
    assert 'About the sea by Ada: {\\"a\\": {\\"b\\": 1}} {nope} {topic}' in shown
    assert len(server.requests) == before
    server.play(answer("x"))
    kernel.run("%%llm openai:m --no-interpolate\n{topic}")
    assert server.last.json()["messages"][-1]["content"] == "{topic}"


def test_chat_continues_and_resets(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(answer("Paris"), answer("Paris, en français"))
    kernel.run("%%llm openai:m -c -s 'Be terse.'\nCapital of France?")
    kernel.run("%%llm -c openai:m\nAnd in French?")
    messages = server.last.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Paris"
    history = kernel.run("%llm history")
    assert "Paris" in history.displays[0]["content"]["data"]["text/markdown"]
    kernel.run("%llm reset")
    server.play(answer("?"))
    kernel.run("%%llm openai:m -c\nWhat did I ask?")
    assert len(server.last.json()["messages"]) == 1


def test_line_magic_use_alias_and_config(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(answer("4"))
    run = kernel.run("%llm openai:m -t 0 What's 2+2?")
    assert run.status == "ok", run.errors
    assert server.last.json()["messages"][-1]["content"] == "What's 2+2?"
    assert server.last.json()["temperature"] == 0
    kernel.run("%llm alias terse openai:terse-model -n 7")
    server.play(answer("a"))
    kernel.run("%%llm terse -n 9\nHi")
    assert server.last.json()["model"] == "terse-model"
    assert server.last.json()["max_tokens"] == 9
    kernel.run("%llm use terse")
    server.play(answer("b"))
    kernel.run("%%llm\nHi")
    assert server.last.json()["max_tokens"] == 7
    kernel.run("%llm use openai:configured")
    kernel.run("%config LLMMagics.model = 'openai:from-config'")
    server.play(answer("c"))
    kernel.run("%%nbstream\nHi")
    assert server.last.json()["model"] == "configured"


def test_config_leaves_stream_options_out(kernel: Kernel, server: ScriptedServer) -> None:
    # For gateways that answer stream_options with HTTP 400 (Azure AI serverless, proxies).
    kernel.run("%config LLMMagics.stream_options = False")
    try:
        server.play(answer("a"))
        run = kernel.run("%%llm openai:m\nHi")
        assert run.status == "ok", run.errors
        assert "stream_options" not in server.last.json()
    finally:
        kernel.run("%config LLMMagics.stream_options = True")
    server.play(answer("b"))
    kernel.run("%%llm openai:m\nHi")
    assert server.last.json()["stream_options"] == {"include_usage": True}


def test_format_code_offers_a_new_cell(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(answer("Here:\n```python\n", "print('hi')\n```\n"))
    run = kernel.run("%%llm openai:m --format code\nCode please")
    payloads = run.reply["content"].get("payload", [])
    assert any(
        p.get("source") == "set_next_input" and p.get("text") == "print('hi')" for p in payloads
    ), payloads


def test_models_lists_the_server_models(kernel: Kernel, server: ScriptedServer) -> None:
    listing = {"object": "list", "data": [{"id": "alpha", "object": "model"}]}
    server.play(
        Script(
            headers=(("Content-Type", "application/json"),),
            body=[json.dumps(listing).encode()],
            framing="length",
        )
    )
    run = kernel.run("%llm models openai:m")
    assert run.status == "ok", run.errors
    assert "openai:alpha" in run.displays[0]["content"]["data"]["text/markdown"]


# -- Ollama and the Python API ----------------------------------------------------------


def test_ollama_streams_thinking_apart_and_errors_keep_text(kernel: Kernel) -> None:
    from .servers.ollama_fake import OllamaFake

    with OllamaFake() as ollama:
        run = kernel.run(f"%%llm ollama:tiny --base-url {ollama.url} -n 50\nbonjour 世界 🌍")
        assert run.status == "ok", run.errors
        payload = run.final[MIME]
        assert "bonjour 世界 🌍" in payload["text"]
        assert payload["usage"]["completion_tokens"] is not None
        kernel.run(f"import os; os.environ['OLLAMA_HOST'] = {ollama.url!r}")
        run = kernel.run(
            "import nbstream; nbstream.generate('Why?', model='ollama:thinker', think=True)"
        )
        assert run.status == "ok", run.errors
        payload = run.final[MIME]
        assert payload["reasoning"] and payload["reasoning"] not in payload["text"]
        assert "<details>" in run.final["text/markdown"]
        run = kernel.run("%%llm ollama:flaky\nTry")
        assert run.errors[0]["content"]["ename"] == "StreamError"
        assert kernel.value("[_llm.status, len(_llm.text) > 0]") == ["error", True]
        run = kernel.run("%%llm ollama:no-such-model\nHi")
        assert "ollama pull" in one_line_error(run)


def test_python_api_generate_and_stream(kernel: Kernel, server: ScriptedServer) -> None:
    server.play(answer("from ", "the API"), answer("chunk", "s"))
    run = kernel.run(
        "import nbstream\n"
        "r = nbstream.generate('Hi', model='openai:m', temperature=0.5)\n"
        "pieces = [c.text for c in nbstream.stream('Hi', model='openai:m')]"
    )
    assert run.status == "ok", run.errors
    assert len(run.displays) == 1
    assert run.final[MIME]["text"] == "from the API"
    # This kernel's key starts with "s", so a chunk ending in "s" could be its start: that
    # "s" is held back, then released as the stream's last chunk when nothing followed.
    assert kernel.value("[r.text, r.status, _llm.text, pieces]") == [
        "from the API",
        "done",
        "from the API",
        ["chunk", "", "", "s"],
    ]
    server.play(Script(status=500, headers=(("Content-Type", "text/plain"),), body=[b"boom"]))
    run = kernel.run("nbstream.generate('Hi', model='openai:m')")
    assert run.errors[0]["content"]["ename"] == "HTTPStatusError"
    assert len(run.errors[0]["content"]["traceback"]) == 1


# -- an alias means the same request wherever a model is named -------------------------


def test_an_alias_keeps_its_options_in_generate_stream_and_chat() -> None:
    """The alias's --base-url gets every request; ``$OPENAI_BASE_URL`` gets none."""
    with ScriptedServer(answer("local")) as local, ScriptedServer(answer("wrong")) as default:
        kernel = Kernel(env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": f"{default.url}/v1"})
        try:
            cells = [
                "%load_ext nbstream\nimport nbstream",
                f"%llm alias local openai:local-model --base-url {local.url}/v1 -t 0.25 -s Terse.",
                "%%llm local\nCell",
                "r = nbstream.generate('Generate', model='local')",
                "pieces = [c.text for c in nbstream.stream('Stream', model='local')]",
                "c = nbstream.chat(model='local'); c.send('Chat'); c.wait(15)",
                "d = nbstream.chat('openai:elsewhere'); d.model = 'local'; d.send('Switch')\n"
                "d.wait(15)",
                "%llm use local",
                "nbstream.generate('Default')",
                "nbstream.chat().send('Default chat')",
            ]
            for cell in cells:
                run = kernel.run(cell)
                assert run.status == "ok", (cell, run.errors)
            deadline = time.monotonic() + 15  # the last chat answers on its own thread
            while len(local.requests) + len(default.requests) < 7:
                assert time.monotonic() < deadline, "the last chat sent nothing"
                time.sleep(0.01)
            assert default.requests == [], [r.json()["messages"] for r in default.requests]
            assert kernel.value("[r.text, ''.join(pieces), c.last_response.status]") == [
                "local",
                "local",
                "done",
            ]
            run = kernel.run(
                "%config LLMMagics.aliases = {'cfg': 'openai:cfg-model --base-url "
                f"{local.url}/v1 -n 7'}}\nnbstream.generate('Configured', model='cfg')"
            )
            assert run.status == "ok", run.errors
            assert default.requests == [], [r.json() for r in default.requests]
            bodies = [r.json() for r in local.requests]
            assert [b["messages"][-1]["content"] for b in bodies] == [
                "Cell",
                "Generate",
                "Stream",
                "Chat",
                "Switch",
                "Default",
                "Default chat",
                "Configured",
            ]
            for body in bodies[:-1]:
                assert body["model"] == "local-model" and body["temperature"] == 0.25
                assert body["messages"][0] == {"role": "system", "content": "Terse."}
            assert bodies[-1]["model"] == "cfg-model" and bodies[-1]["max_tokens"] == 7
            assert local.last.headers["authorization"] == f"Bearer {SECRET}"

            # Keyword arguments override the alias's options, as cell options do.
            run = kernel.run(
                "nbstream.generate('Mine', model='local', temperature=0.9, system='Verbose.')\n"
                "e = nbstream.chat(model='local', max_tokens=3); e.send('Mine too'); e.wait(15)"
            )
            assert run.status == "ok", run.errors
            generated, chatted = (r.json() for r in local.requests[-2:])
            assert generated["temperature"] == 0.9
            assert generated["messages"][0]["content"] == "Verbose."
            assert chatted["max_tokens"] == 3 and chatted["temperature"] == 0.25
            assert default.requests == []
        finally:
            kernel.shutdown()
