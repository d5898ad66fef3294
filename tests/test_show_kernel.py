"""``show()`` and Python functions as models, in a real kernel: what a notebook user sees.

The user's code runs in the kernel exactly as a notebook runs it: generators and async
generators defined in cells, functions bound in the namespace and named ``py:NAME``.
Each source notes in the kernel when it was closed (``closed``), so a test can tell that
Stop and interrupt reached it, and when (the kernel's ``time.time()``, the same clock as
the kernel's message stamps and this process's ``time.time()``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .kernel import MIME, Execution, Kernel, one_line_error, stamp

SOURCES = """
import asyncio, sys, time
import nbstream

closed = {}

def words(n, name="words", pause=0.0):
    try:
        for i in range(n):
            yield f"w{i} "
            if pause:
                time.sleep(pause)
    finally:
        closed[name] = time.time()

async def awords(n, name="awords", pause=0.0):
    try:
        for i in range(n):
            await asyncio.sleep(pause)
            yield f"a{i} "
    finally:
        closed[name] = time.time()

class Ticks:  # a client-like stream: an iterator with a close() of its own, as openai's
    def __init__(self, name="ticks", pause=0.01):
        self.name, self.pause = name, pause
    def __iter__(self):
        return self
    def __next__(self):
        time.sleep(self.pause)
        return "t "
    def close(self):
        closed[self.name] = time.time()

class ATicks:  # the async kind, closed with aclose()
    def __aiter__(self):
        return self
    async def __anext__(self):
        await asyncio.sleep(0.01)
        return "t "
    async def aclose(self):
        closed["aticks"] = time.time()

def failing(after):
    try:
        for i in range(after):
            yield "x"
        raise ValueError(f"boom after {after}")
    finally:
        closed["failing"] = time.time()

def echo(messages):
    return "echo: " + " | ".join(f"{m['role']}={m['content']}" for m in messages)

def with_options(messages, options):
    yield "options: "
    yield ", ".join(f"{k}={v}" for k, v in sorted(options.items()))

async def coroutine_pipeline(messages):
    await asyncio.sleep(0.01)
    return awords(3, name="coroutine")
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    setup = k.run("%load_ext nbstream\n" + SOURCES)
    assert setup.status == "ok", setup.errors
    yield k
    k.shutdown()


def live_updates_per_second_ok(run: Execution) -> bool:
    if not run.updates:
        return True
    first, last = stamp(run.displays[0]), stamp(run.updates[-1])
    return len(run.updates) <= 2 + 20 * (last - first)


# -- show() -------------------------------------------------------------------------------


def test_show_renders_a_generator_like_llm_and_returns_the_response(kernel: Kernel) -> None:
    run = kernel.run("r = nbstream.show(words(5000), model='my-pipe')")
    assert run.status == "ok", run.errors
    assert len(run.displays) == 1
    assert live_updates_per_second_ok(run)
    assert not run.of("execute_result")
    final = run.final
    payload = final[MIME]
    expected = "".join(f"w{i} " for i in range(5000))
    assert payload["text"] == expected
    assert payload["status"] == "done"
    assert payload["model"] == "py:my-pipe"
    assert "py:my-pipe · 5000 tokens" in final["text/markdown"]
    assert set(final) >= {"text/markdown", "text/plain", MIME}
    assert kernel.value("[r.text == _llm.text, r.status, r.model, 'words' in closed]") == [
        True,
        "done",
        "py:my-pipe",
        True,
    ]


def test_show_drives_an_async_generator_while_the_kernels_loop_runs(kernel: Kernel) -> None:
    run = kernel.run(
        "assert asyncio.get_event_loop().is_running()\nr = nbstream.show(awords(20, pause=0.001))"
    )
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "".join(f"a{i} " for i in range(20))
    assert kernel.value("[_llm.status, _llm.model, 'awords' in closed]") == [
        "done",
        "py:stream",
        True,
    ]


def test_show_accepts_a_plain_string_and_a_list(kernel: Kernel) -> None:
    run = kernel.run("r = nbstream.show('just text')")
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "just text"
    run = kernel.run("r = nbstream.show(['a', 'b', '', 'c'])")
    assert run.status == "ok", run.errors  # a list is not hashable: closing it must not fail
    assert run.final[MIME]["text"] == "abc"
    assert kernel.value("r.status") == "done"


# -- a function as the model ------------------------------------------------------------


def test_py_name_in_the_magic_gets_the_messages(kernel: Kernel) -> None:
    run = kernel.run("%%llm py:echo -s 'Be brief.'\nHello")
    assert run.status == "ok", run.errors
    payload = run.final[MIME]
    assert payload["text"] == "echo: system=Be brief. | user=Hello"
    assert payload["model"] == "py:echo"


def test_a_function_that_takes_options_gets_what_the_request_set(kernel: Kernel) -> None:
    run = kernel.run("%%llm py:with_options -t 0.3 -n 7 --stop END\nHi")
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "options: max_tokens=7, stop=['END'], temperature=0.3"


def test_an_alias_to_py_name_looks_the_function_up_at_each_cell(kernel: Kernel) -> None:
    assert kernel.run("%llm alias rag py:echo").status == "ok"
    assert kernel.run("%%llm rag\nfirst").final[MIME]["text"] == "echo: user=first"
    assert kernel.run("def echo(messages):\n    return 'redefined'").status == "ok"
    try:
        assert kernel.run("%%llm rag\nsecond").final[MIME]["text"] == "redefined"
    finally:
        kernel.run(SOURCES)


def test_chat_conversations_pass_the_history(kernel: Kernel) -> None:
    assert kernel.run("%llm reset --all").status == "ok"
    assert kernel.run("%%llm py:echo -c\none").status == "ok"
    run = kernel.run("%%llm py:echo -c\ntwo")
    assert run.final[MIME]["text"] == "echo: user=one | assistant=echo: user=one | user=two"


def test_generate_and_stream_take_the_function_itself(kernel: Kernel) -> None:
    run = kernel.run("r = nbstream.generate('q', model=lambda messages: iter(['x', 'y']))")
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "xy"
    assert kernel.value("[r.model, [c.text for c in nbstream.stream('q', model=echo)]]") == [
        "py:function",
        ["echo: user=q"],
    ]


def test_a_coroutine_function_returning_an_async_generator(kernel: Kernel) -> None:
    run = kernel.run("%%llm py:coroutine_pipeline\nGo")
    assert run.status == "ok", run.errors
    assert run.final[MIME]["text"] == "a0 a1 a2 "


# -- errors are the user's ------------------------------------------------------------------


def test_an_error_after_1000_chunks_keeps_them_and_names_the_exception(kernel: Kernel) -> None:
    run = kernel.run("nbstream.show(failing(1000))")
    message = one_line_error(run)
    assert message.startswith("ValueError: boom after 1000")
    assert run.errors[0]["content"]["ename"] == "StreamError"
    payload = run.final[MIME]
    assert payload["status"] == "error"
    assert payload["text"] == "x" * 1000
    assert kernel.value(
        "[_llm.status, len(_llm.text), _llm.error.startswith('ValueError: boom'), "
        "repr(sys.last_value.__cause__), 'failing' in closed]"
    ) == ["error", 1000, True, "ValueError('boom after 1000')", True]
    # %tb shows where the user's code raised.
    tb = kernel.run("%tb")
    shown = "\n".join(tb.errors[0]["content"]["traceback"]) if tb.errors else tb.stdout
    assert "failing" in shown and "boom after 1000" in shown


def test_an_error_at_once_and_a_failing_function(kernel: Kernel) -> None:
    run = kernel.run("nbstream.show(failing(0))")
    assert one_line_error(run).startswith("ValueError: boom after 0")
    assert run.final[MIME]["status"] == "error"
    run = kernel.run("def broken(messages):\n    raise KeyError('no index')\n%llm py:broken hi")
    assert one_line_error(run).startswith("KeyError: 'no index'")
    assert kernel.value("[_llm.status, repr(sys.last_value.__cause__)]") == [
        "error",
        "KeyError('no index')",
    ]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("nbstream.show(42)", "not a int"),
        ("nbstream.show(None)", "None"),
        ("nbstream.show(b'bytes')", "bytes"),
        ("nbstream.show(iter([b'a', b'b']))", "bytes"),
        ("nbstream.show(iter([object()]))", "object"),
        ("%llm py:unbound_name hi", "no 'unbound_name' is defined"),
        ("not_callable = 3\n%llm py:not_callable hi", "is a int, not a function"),
        ("%llm py:3bad hi", "not a Python name"),
        ("def none(messages):\n    return None\n%llm py:none hi", "returned None"),
    ],
)
def test_bad_input_is_one_sentence_and_the_kernel_stays_usable(
    kernel: Kernel, code: str, words: str
) -> None:
    run = kernel.run(code)
    assert words in one_line_error(run)
    assert kernel.run("r = nbstream.show(['fine'])").final[MIME]["text"] == "fine"


# -- stop and interrupt reach the source ----------------------------------------------------


def interrupt_after_first_update(kernel: Kernel, code: str) -> tuple[Execution, float]:
    kernel.run("closed.clear()")
    msg_id = kernel.submit(code)
    kernel.wait_for(msg_id, "update_display_data")
    sent = time.time()  # the kernel stamps its messages (and `closed`) with this clock
    kernel.interrupt()
    return kernel.collect(msg_id), sent


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("nbstream.show(words(10**6, pause=0.01))", "words"),
        ("nbstream.show(awords(10**6, pause=0.01))", "awords"),
        ("def slow(messages):\n    return words(10**6, 'slow', 0.01)\n%llm py:slow go", "slow"),
        # Only an explicit close() records these (no generator unwinds, no collection):
        ("t = Ticks()\nnbstream.show(t)", "ticks"),
        ("t = ATicks()\nnbstream.show(t)", "aticks"),
        ("def ticking(messages):\n    return t\nt = Ticks('f')\n%llm py:ticking go", "f"),
    ],
)
def test_interrupt_ends_within_half_a_second_and_closes_the_source(
    kernel: Kernel, code: str, name: str
) -> None:
    run, sent = interrupt_after_first_update(kernel, code)
    assert stamp(run.errors[0]) - sent < 0.5
    assert run.errors[0]["content"]["ename"] == "Interrupted"
    payload = run.final[MIME]
    assert payload["status"] == "interrupted"
    assert payload["text"]
    status, text, closed_at = kernel.value(f"[_llm.status, _llm.text, closed.get({name!r})]")
    assert status == "interrupted" and text == payload["text"]
    assert closed_at is not None and closed_at - sent < 0.5
    assert kernel.run("r = nbstream.show(['again'])").final[MIME]["text"] == "again"


def test_interrupt_stops_a_function_that_blocks_without_yielding(kernel: Kernel) -> None:
    code = (
        "def blocked(messages):\n"
        "    yield 'first '\n"
        "    try:\n"
        "        time.sleep(60)\n"
        "    finally:\n"
        "        closed['blocked'] = time.time()\n"
        "    yield 'never'\n"
        "%llm py:blocked go"
    )
    run, sent = interrupt_after_first_update(kernel, code)
    assert stamp(run.errors[0]) - sent < 0.5
    assert run.final[MIME]["status"] == "interrupted"
    # The user's own code stopped (it runs where the interrupt lands), not only the answer.
    status, text, stopped_at = kernel.value("[_llm.status, _llm.text, closed.get('blocked')]")
    assert [status, text] == ["interrupted", "first "]
    assert stopped_at is not None and stopped_at - sent < 0.5
    # A function that never returns anything stops too (nothing shown but the status).
    msg_id = kernel.submit("def sleeper(messages):\n    time.sleep(60)\n%llm py:sleeper go")
    kernel.wait_for(msg_id, "display_data")
    sent = time.time()
    kernel.interrupt()
    run = kernel.collect(msg_id)
    assert stamp(run.errors[0]) - sent < 0.5
    assert "before the first token" in one_line_error(run)


# -- recording and replay ----------------------------------------------------------------------


RECORDED = """
import nbstream
def pipeline(messages):
    yield "private "
    yield "answer to " + messages[-1]["content"]
r1 = nbstream.show(iter(["one ", "two"]), model="pipe")
r2 = nbstream.show(iter(["three"]), model="pipe")
"""


def test_record_then_replay_with_no_pipeline(tmp_path: Path) -> None:
    recording = tmp_path / "answers.jsonl"
    k = Kernel(env={"NBSTREAM_RECORD": str(recording)})
    try:
        assert k.run("%load_ext nbstream").status == "ok"
        assert k.run(RECORDED).status == "ok"
        recorded = k.run("%%llm py:pipeline\nlife")
        assert recorded.status == "ok", recorded.errors
    finally:
        k.shutdown()
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [line["request"]["model"] for line in lines] == ["pipe", "pipe", "pipeline"]
    assert [line["request"]["options"] for line in lines] == [{"show": 1}, {"show": 2}, {}]
    assert all(chunk["t"] >= 0 for line in lines for chunk in line["chunks"])

    replay = Kernel()  # it leaves $NBSTREAM_REPLAY out of the kernel's environment
    try:
        assert replay.run(f"%env NBSTREAM_REPLAY={recording}").status == "ok"
        assert replay.run("%load_ext nbstream").status == "ok"
        # Nothing private runs: the streams would fail, the function is not even defined.
        code = (
            "import nbstream\ndef never():\n    raise RuntimeError('read')\n    yield ''\n"
            "r1 = nbstream.show(never(), model='pipe')\n"
            "r2 = nbstream.show(never(), model='pipe')"
        )
        run = replay.run(code)
        assert run.status == "ok", run.errors
        assert replay.value("[r1.text, r2.text]") == ["one two", "three"]
        run = replay.run("%%llm py:pipeline\nlife")
        assert run.status == "ok", run.errors
        assert len(run.displays) == 1 and not run.updates  # instant: one display, for nbval
        assert run.final[MIME]["text"] == "private answer to life"
        assert run.final[MIME]["ttft_s"] == recorded.final[MIME]["ttft_s"]
    finally:
        replay.shutdown()


# -- the real openai client against llama-cpp-python's server --------------------------------


def established(port: int) -> int:
    """TCP connections to or from ``port`` that are established (both ends, this machine)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            ports = {int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)}
            if port in ports and fields[3] == "01":
                count += 1
    return count


# Reads the openai stream slowly, so the server is still writing when the user stops; its
# own close() is the client stream's, as with any client stream show() is handed. (It
# yields text: which chunk shapes show() reads is tested with the shapes themselves.)
SLOW_READER = """
import time
class SlowText:
    def __init__(self, stream):
        self.stream = stream
    def __iter__(self):
        for chunk in self.stream:
            time.sleep(0.01)
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    def close(self):
        self.stream.close()
"""


def test_stop_closes_an_openai_stream_from_llama_cpp_server(llama_server: str) -> None:
    port = int(llama_server.rsplit(":", 1)[1].split("/")[0])
    k = Kernel()
    try:
        setup = k.run(
            "import openai, nbstream\n"
            f"client = openai.OpenAI(base_url={llama_server!r}, api_key='x', max_retries=0)\n"
            "def story(n=3000):\n"
            "    return client.chat.completions.create(model='tiny', stream=True,\n"
            "        max_tokens=n, seed=1,\n"
            "        messages=[{'role': 'user', 'content': 'Tell a long story.'}])\n" + SLOW_READER
        )
        assert setup.status == "ok", setup.errors
        msg_id = k.submit("s = story()\nnbstream.show(SlowText(s))")
        k.wait_for(msg_id, "update_display_data")
        assert established(port) >= 2  # the client's end and the server's end
        sent = time.monotonic()
        k.interrupt()
        run = k.collect(msg_id)
        assert run.final[MIME]["status"] == "interrupted"
        while established(port) and time.monotonic() - sent < 0.5:
            time.sleep(0.01)
        assert established(port) == 0, "the server's connection is still open"
        assert k.value("[s.response.is_closed, _llm.status]") == [True, "interrupted"]
        again = k.run("r = nbstream.show(SlowText(story(20)))")
        assert again.status == "ok", again.errors
        assert k.value("[r.status, len(r.text) > 0]") == ["done", True]
    finally:
        k.shutdown()


# -- the chat widget, driven from Python (the worker thread is where its answers run) -----


def test_chat_with_a_function_and_stop_closes_it(tmp_path: Path) -> None:
    import nbstream

    closed: dict[str, float] = {}

    class Ticks:
        """A client-like stream with its own close(): only an explicit close() records."""

        def __init__(self, count: int) -> None:
            self.first = f"{count} messages: "

        def __iter__(self) -> Ticks:
            return self

        def __next__(self) -> str:
            first, self.first = self.first, ""
            if first:
                return first
            time.sleep(0.02)
            return "tick "

        def close(self) -> None:
            closed["ticker"] = time.monotonic()

    held: list[Ticks] = []

    def ticker(messages: list[dict[str, str]]) -> Ticks:
        held.append(Ticks(len(messages)))
        return held[-1]

    def blocked(messages: list[dict[str, str]]) -> Any:
        time.sleep(3)
        return "late"

    chat = nbstream.chat(model=ticker)
    assert chat.model == "py:ticker"
    chat.send("hi")
    deadline = time.monotonic() + 10
    while not _streamed(chat):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sent = time.monotonic()
    chat.stop()
    response = chat.wait(5)
    assert response is not None and response.status == "interrupted"
    assert time.monotonic() - sent < 0.5
    assert response.text.startswith("1 messages: tick")
    deadline = time.monotonic() + 0.5
    while "ticker" not in closed and time.monotonic() < deadline:
        time.sleep(0.005)
    assert closed["ticker"] - sent < 0.5
    # A function that blocks: Stop still ends the answer at once.
    chat.model = blocked
    assert chat.model == "py:blocked"
    chat.send("again")
    time.sleep(0.2)
    sent = time.monotonic()
    chat.stop()
    response = chat.wait(5)
    assert response is not None and response.status == "interrupted"
    assert time.monotonic() - sent < 0.5
    chat.model = lambda messages: "plain " + messages[-1]["content"]
    chat.send("text")
    response = chat.wait(5)
    assert response is not None and response.text == "plain text"


def _streamed(chat: Any) -> bool:
    running = chat._running
    stream = running._stream if running is not None else None
    return stream is not None and "tick" in stream.accumulator.text
