"""Bytes on the wire for a live cell, in a real kernel: deltas with the front end, sparse without.

The test client plays the browser. Without a hello it is nbclient or a front end without
nbstream: whole bundles, at most ~10× the final one in total. After it answers the
kernel's invite the way the extension does (a ``hello`` on the invite comm), the cell
sends the first bundle, then only new text on the answer's comm, then the final bundle:
at most 3× at any rate (5 tok/s too), and the text put together from the deltas is the
final text. A hello that comes on a subshell while a cell streams (a *Run All*) switches
that answer to deltas from the text it has shown, still within 3×. Sizes are of
the messages as serialized on the wire (``Session.serialize``: header, parent, metadata,
content and signature), as ``bench/bench_wire.py`` counts them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .kernel import MIME, Execution, Kernel
from .servers.scripted import Script, ScriptedServer, chat_delta, sse

WORDS = [f"word{i % 97} " for i in range(4000)]
WIRE_TYPES = {"display_data", "update_display_data", "comm_open", "comm_msg", "comm_close"}


def paced(words: list[str], per_second: float, batch: int = 1) -> Script:
    """An OpenAI-compatible stream of ``words`` at ``per_second`` tokens a second."""
    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for i in range(0, len(words), batch):
        events = sse(*(chat_delta(w) for w in words[i : i + batch]), done=False)
        body += [b"".join(events), batch / per_second]
    body += sse(chat_delta(finish="stop"))
    return Script(body=body)


def size(kernel: Kernel, msg: dict[str, Any]) -> int:
    return sum(len(frame) for frame in kernel.client.session.serialize(msg))


def answer_messages(run: Execution) -> list[dict[str, Any]]:
    """The messages of the cell's answer (the invite comm of a first cell left out)."""
    return [
        m
        for m in run.messages
        if m["msg_type"] in WIRE_TYPES
        and m["content"].get("data", {}).get("kind") != "invite"
        and not (m["msg_type"] == "comm_close" and m["content"]["comm_id"] == _invite_id(run))
    ]


def _invite_id(run: Execution) -> str | None:
    for m in run.of("comm_open"):
        if m["content"]["data"].get("kind") == "invite":
            return str(m["content"]["comm_id"])
    return None


def ratio(kernel: Kernel, run: Execution) -> float:
    sent = sum(size(kernel, m) for m in answer_messages(run))
    final = size(kernel, run.updates[-1])
    return sent / final


def within_delta_budget(kernel: Kernel, run: Execution) -> tuple[bool, str]:
    """Deltas: at most 3x the final bundle, whatever the rate and length."""
    messages = answer_messages(run)
    sent = sum(size(kernel, m) for m in messages)
    final = size(kernel, run.updates[-1])
    seconds = (
        run.updates[-1]["header"]["date"] - run.displays[0]["header"]["date"]
    ).total_seconds()
    return sent <= 3 * final, f"{sent:,} B sent, {sent / final:.2f}x the final, {seconds:.1f} s"


def say_hello(kernel: Kernel, comm_id: str | None) -> None:
    """What the extension does on the kernel's invite: a hello on the invite comm."""
    assert comm_id is not None, "no invite from %load_ext nbstream"
    msg = kernel.client.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"kind": "hello", "version": 1}}
    )
    kernel.client.shell_channel.send(msg)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    setup = k.run("%load_ext nbstream")
    assert setup.status == "ok", setup.errors
    k.invite = _invite_id(setup)  # type: ignore[attr-defined]
    (invite,) = [m for m in setup.of("comm_open") if m["content"]["data"].get("kind") == "invite"]
    assert invite["content"]["data"]["listens"] is True  # the subshell hello may come
    yield k
    k.shutdown()


def run_paced(kernel: Kernel, per_second: float, tokens: int, batch: int = 1) -> Execution:
    with ScriptedServer(paced(WORDS[:tokens], per_second, batch)) as server:
        run = kernel.run(f"%%llm openai:m --base-url {server.url}/v1\nGo", timeout=300)
    assert run.status == "ok", run.errors
    return run


def check_final(kernel: Kernel, run: Execution, tokens: int) -> dict[str, Any]:
    final = run.final
    payload = final[MIME]
    assert payload["status"] == "done"
    assert payload["text"] == "".join(WORDS[:tokens])
    assert "stream" not in payload  # the saved bundle is exactly build()'s
    assert final["text/markdown"].startswith(payload["text"].rstrip())
    assert kernel.value("_llm.text") == payload["text"]
    return dict(payload)


# -- fallback: no nbstream front end ------------------------------------------------------


@pytest.mark.parametrize(("per_second", "tokens", "batch"), [(2000, 3000, 10), (100, 400, 1)])
def test_fallback_total_is_at_most_ten_times_the_final_bundle(
    kernel: Kernel, per_second: float, tokens: int, batch: int
) -> None:
    run = run_paced(kernel, per_second, tokens, batch)
    check_final(kernel, run, tokens)
    assert not run.of("comm_msg")
    assert len(run.updates) >= 2  # it still streams
    assert ratio(kernel, run) <= 10, (len(run.updates), ratio(kernel, run))


# -- deltas: the front end said hello -----------------------------------------------------


def delta_text(run: Execution, seed: str = "") -> tuple[str, str]:
    """The text put together from the deltas as the browser does (UTF-16 offsets)."""
    (opened,) = [m for m in run.of("comm_open") if m["content"]["data"].get("kind") == "answer"]
    comm_id = opened["content"]["comm_id"]
    text = seed
    last_line = ""
    seq = 0
    pieces = [opened, *(m for m in run.of("comm_msg") if m["content"]["comm_id"] == comm_id)]
    for m in pieces:
        delta = m["content"]["data"]
        assert delta["seq"] == seq + 1
        seq = delta["seq"]
        units = text.encode("utf-16-le")
        assert delta["at"] * 2 <= len(units)
        text = (units[: delta["at"] * 2]).decode("utf-16-le") + delta["text"]
        last_line = delta["status_line"]
    assert seq >= 2, "fewer than two deltas"
    return text, last_line


def test_deltas_after_hello_total_at_most_three_times(kernel: Kernel) -> None:
    say_hello(kernel, kernel.invite)  # type: ignore[attr-defined]
    assert kernel.value("__import__('nbstream._channel', fromlist=['_']).present()") is True
    # 5 tok/s is a slow local model: the budget, not a clock, sets the pace there too.
    for per_second, tokens, batch in [(5, 40, 1), (100, 400, 1), (2000, 3000, 10)]:
        run = run_paced(kernel, per_second, tokens, batch)
        payload = check_final(kernel, run, tokens)
        first = run.displays[0]["content"]["data"][MIME]
        assert first["stream"] == run.displays[0]["content"]["transient"]["display_id"]
        assert len(run.updates) == 1  # only the final bundle is whole
        text, line = delta_text(run)
        assert payload["text"].startswith(text)
        assert line.startswith("● streaming")
        assert run.messages[-1]["msg_type"] == "comm_close"
        ok, why = within_delta_budget(kernel, run)
        assert ok, why


def test_deltas_reassemble_to_the_final_text_with_astral_characters(kernel: Kernel) -> None:
    say_hello(kernel, kernel.invite)  # type: ignore[attr-defined]
    words = [f"{w}🌍 " if i % 3 else f"é{w}" for i, w in enumerate(WORDS[:300])]
    with ScriptedServer(paced(words, 200)) as server:
        run = kernel.run(f"%%llm openai:m --base-url {server.url}/v1\nGo", timeout=300)
    assert run.status == "ok", run.errors
    text, _ = delta_text(run)
    final = run.final[MIME]["text"]
    assert final == "".join(words)
    assert final.startswith(text) and len(text) > len(final) // 2
    ok, why = within_delta_budget(kernel, run)
    assert ok, why


def test_interrupt_with_deltas_ends_with_the_whole_partial_answer(kernel: Kernel) -> None:
    say_hello(kernel, kernel.invite)  # type: ignore[attr-defined]
    with ScriptedServer(paced(WORDS, 100)) as server:
        msg_id = kernel.submit(f"%%llm openai:m --base-url {server.url}/v1\nGo")
        kernel.wait_for(msg_id, "comm_msg", timeout=30)
        kernel.interrupt()
        run = kernel.collect(msg_id, timeout=30)
    final = run.final[MIME]
    assert final["status"] == "interrupted" and final["text"]
    assert "stream" not in final
    assert json.loads(json.dumps(final))["text"] == kernel.value("_llm.text")


# -- a hello on a subshell, while the cell after %load_ext streams (Run All) --------------


def hello_on_subshell(kernel: Kernel) -> None:
    """What the extension does besides: a comm to the kernel's target, on a new subshell."""
    client = kernel.client
    client.control_channel.send(client.session.msg("create_subshell_request", {}))
    reply = client.control_channel.get_msg(timeout=10)
    assert reply["msg_type"] == "create_subshell_reply", reply
    opening = client.session.msg(
        "comm_open",
        {"comm_id": uuid.uuid4().hex, "target_name": "nbstream", "data": {"kind": "hello"}},
    )
    opening["header"]["subshell_id"] = reply["content"]["subshell_id"]
    client.shell_channel.send(opening)


def test_a_hello_on_a_subshell_switches_a_streaming_answer_to_deltas() -> None:
    fresh = Kernel()
    try:
        # Run All: %load_ext and the streaming cell are queued at once, before any hello.
        with ScriptedServer(paced(WORDS[:400], 100)) as server:
            fresh.submit("%load_ext nbstream")
            msg_id = fresh.submit(f"%%llm openai:m --base-url {server.url}/v1\nGo")
            greeted: list[bool] = []

            def on_message(msg: dict[str, Any]) -> None:
                if msg["msg_type"] == "display_data" and not greeted:
                    greeted.append(True)
                    hello_on_subshell(fresh)  # handled while the cell runs, not after it

            run = fresh.collect(msg_id, timeout=60, on_message=on_message)
        assert run.status == "ok", run.errors
        first = run.displays[0]["content"]["data"][MIME]
        assert first["stream"] == run.displays[0]["content"]["transient"]["display_id"]
        shown = [m for m in run.updates if m["content"]["data"][MIME]["status"] == "streaming"]
        assert all("stream" in m["content"]["data"][MIME] for m in shown)
        (opened,) = [m for m in run.of("comm_open") if m["content"]["data"]["kind"] == "answer"]
        # The deltas go on from the text of the last whole bundle shown before them.
        at = run.messages.index(opened)
        before = [m for m in [*run.displays, *shown] if run.messages.index(m) < at]
        seed = before[-1]["content"]["data"][MIME]["text"]
        text, _ = delta_text(run, seed)
        payload = check_final(fresh, run, 400)
        assert payload["text"].startswith(text) and len(text) > len(payload["text"]) // 2
        ok, why = within_delta_budget(fresh, run)
        assert ok, why
        assert fresh.value("__import__('nbstream._channel', fromlist=['_']).present()") is True
    finally:
        fresh.shutdown()
