"""Live cells in a widget host without nbstream's extension, in a real kernel.

The test client plays the browser. ``%load_ext nbstream`` opens one tiny widget, the
probe; a front end that runs widgets creates its model, which says hello with ``lab``
telling whether nbstream's extension is in the page. Without a hello (nbclient) or with
``lab`` true (the extension streams the cells) nothing changes. After a hello with
``lab`` false the kernel sends the chat's script once, as a widget never displayed, and
each answer is: the ordinary first bundle; a small widget opened with the text so far
and shown in place of it; deltas as that widget's custom messages; the final bundle,
whole, by ``update_display_data``; the widget's closing. Every byte of it (sizes as
serialized on the wire) is within 3× the final bundle at 500, 2,000 and 8,000 tokens and
for tiny answers, and the text put together from the seed and the deltas is the final
text's beginning. The view's ``stop`` message, sent on a subshell as JupyterLab sends
comm messages there, ends the answer within half a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from nbstream._hostwidgets import STATIC

from .kernel import MIME, Execution, Kernel
from .servers.scripted import ScriptedServer
from .test_wire import WIRE_TYPES, WORDS, check_final, paced, size

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WORDS_8K = WORDS * 2


def widget_opens(run: Execution, name: str) -> list[dict[str, Any]]:
    """The ``comm_open``s of nbstream widgets of class ``name`` in ``run``."""
    return [
        m
        for m in run.of("comm_open")
        if m["content"]["target_name"] == "jupyter.widget"
        and m["content"]["data"]["state"].get("_anywidget_id") == f"nbstream._hostwidgets.{name}"
    ]


def custom(comm_id: str, content: dict[str, Any], client: Any) -> dict[str, Any]:
    """A custom message to a widget, as anywidget's ``model.send(content)`` makes it."""
    data = {"method": "custom", "content": content}
    return dict(client.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    setup = k.run("%load_ext nbstream")
    assert setup.status == "ok", setup.errors
    (probe,) = widget_opens(setup, "ProbeWidget")
    state = probe["content"]["data"]["state"]
    assert state["_esm"] == (STATIC / "probe.js").read_text()
    assert len(state["_esm"]) < 400
    widgets = [m for m in setup.of("comm_open") if m["content"]["target_name"] == "jupyter.widget"]
    print(f"\nprobe: {len(widgets)} widgets, {sum(size(k, m) for m in widgets):,} bytes")
    assert len(widgets) == 2  # the probe and its Layout, nothing else
    k.probe = probe["content"]["comm_id"]  # type: ignore[attr-defined]
    yield k
    k.shutdown()


def say_hello(kernel: Kernel, lab: bool) -> tuple[bool, list[dict[str, Any]]]:
    """The probe's hello, as its model sends it: whether the kernel now knows a widget
    host, and what the kernel published while handling the hello."""
    msg = custom(kernel.probe, {"kind": "hello", "version": 1, "lab": lab}, kernel.client)  # type: ignore[attr-defined]
    kernel.client.shell_channel.send(msg)
    published: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = kernel.client.get_iopub_msg(timeout=30)
        if got["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if got["msg_type"] == "status":
            if got["content"]["execution_state"] == "idle":
                break
            continue
        published.append(got)
    present = kernel.value("__import__('nbstream._widgethost', fromlist=['_']).present()")
    return present is True, published


def opens(published: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return widget_opens(Execution(reply={}, messages=published), name)


def run_paced(kernel: Kernel, per_second: float, words: list[str], batch: int = 1) -> Execution:
    with ScriptedServer(paced(words, per_second, batch)) as server:
        run = kernel.run(f"%%llm openai:m --base-url {server.url}/v1\nGo", timeout=300)
    assert run.status == "ok", run.errors
    return run


def wire(kernel: Kernel, run: Execution) -> tuple[int, int]:
    """Bytes of every message of the answer, and of its final bundle."""
    sent = sum(size(kernel, m) for m in run.messages if m["msg_type"] in WIRE_TYPES)
    return sent, size(kernel, run.updates[-1])


def test_without_a_widget_host_hello_a_cell_sends_what_it_did(kernel: Kernel) -> None:
    run = run_paced(kernel, 2000, WORDS[:600], 10)
    check_final(kernel, run, 600)
    assert not run.of("comm_open") and not run.of("comm_msg")
    sent, final = wire(kernel, run)
    assert sent <= 10 * final


def test_a_hello_from_a_page_with_the_extension_changes_nothing(kernel: Kernel) -> None:
    present, published = say_hello(kernel, lab=True)
    assert not present
    assert not published  # no script sent


def test_a_widget_host_gets_the_script_once_then_deltas_within_three_times(
    kernel: Kernel,
) -> None:
    present, published = say_hello(kernel, lab=False)
    assert present
    (host,) = opens(published, "HostWidget")
    assert host["content"]["data"]["state"]["_esm"] == (STATIC / "chat.js").read_text()
    print(f"\nthe script, once: {sum(size(kernel, m) for m in published):,} bytes")
    assert [m["msg_type"] for m in published] == ["comm_open"]  # it shares the probe's Layout
    present, published = say_hello(kernel, lab=False)
    assert present and not published  # a second hello sends nothing

    cases = [(2000, 1, 1), (2000, 12, 1), (5, 40, 1), (100, 500, 1)]
    cases += [(2000, 2000, 10), (4000, 8000, 20)]
    for per_second, tokens, batch in cases:
        words = WORDS_8K[:tokens]
        run = run_paced(kernel, per_second, words, batch)
        payload = check_final(kernel, run, tokens) if tokens <= len(WORDS) else run.final[MIME]
        assert payload["text"] == "".join(words)
        kinds = [m["msg_type"] for m in run.messages if m["msg_type"] in WIRE_TYPES]
        sent, final = wire(kernel, run)
        print(f"{tokens} tokens at {per_second}/s: {len(kinds)} msgs, {sent / final:.2f}×")
        assert sent <= 3 * final, (tokens, per_second, sent / final, kinds)
        (first,) = run.displays
        display_id = first["content"]["transient"]["display_id"]
        assert "stream" not in first["content"]["data"][MIME]
        final_update = run.updates[-1]["content"]
        assert set(final_update["data"]) == {MIME, "text/markdown", "text/plain"}
        # Before the widget can be paid for: whole bundles, as the same budget allows.
        start = kinds.index("comm_open") if "comm_open" in kinds else len(kinds) - 1
        early = [m for m in run.updates[: start - 1] if m["msg_type"] == "update_display_data"]
        assert all(set(m["content"]["data"]) == set(final_update["data"]) for m in early)
        shown = [len(m["content"]["data"][MIME]["text"]) // 7 for m in early]
        print(f"   words shown before the widget: {shown}")
        if per_second <= 5:  # a slow model's first words show long before its end
            assert shown and 0 < shown[0] < tokens, (shown, kinds)
        if tokens <= 40:  # too small to pay for a widget: whole bundles only
            assert "comm_open" not in kinds, kinds
            continue
        (opened,) = widget_opens(run, "AnswerWidget")
        comm_id = opened["content"]["comm_id"]
        state = opened["content"]["data"]["state"]
        assert len(state["_esm"]) < 600
        assert state["layout"] == host["content"]["data"]["state"]["layout"]  # no new Layout
        assert state["payload"]["stream"] == display_id
        print(f"   the widget opened at word {len(state['payload']['text']) // 7}")
        view = run.messages[run.messages.index(opened) + 1]
        assert view["content"]["data"][WIDGET_VIEW]["model_id"] == comm_id
        # display, (whole bundles), widget, its view, deltas, the final bundle, the closing
        assert kinds[0] == "display_data", kinds
        assert set(kinds[1:start]) <= {"update_display_data"}, kinds
        assert kinds[start : start + 2] == ["comm_open", "update_display_data"], kinds
        assert kinds[-2:] == ["update_display_data", "comm_close"], kinds
        assert run.messages[-1]["content"]["comm_id"] == comm_id
        text = state["payload"]["text"]
        deltas = [m["content"]["data"] for m in run.of("comm_msg")]
        assert all(d["method"] == "custom" for d in deltas)
        for seq, delta in enumerate((d["content"] for d in deltas), 1):
            assert delta["seq"] == seq
            text = text[: delta["at"]] + delta["text"]  # ASCII: UTF-16 offsets are indices
        assert payload["text"].startswith(text)
        if tokens >= 500:
            assert len(deltas) >= 2 and len(text) > len(payload["text"]) // 2


def test_an_interrupt_ends_with_the_partial_answer_then_closes_the_widget(
    kernel: Kernel,
) -> None:
    assert say_hello(kernel, lab=False)[0]
    with ScriptedServer(paced(WORDS, 100)) as server:
        msg_id = kernel.submit(f"%%llm openai:m --base-url {server.url}/v1\nGo")
        opened = kernel.wait_for(msg_id, "comm_open", timeout=30)
        kernel.wait_for(msg_id, "comm_msg", timeout=30)
        kernel.interrupt()
        run = kernel.collect(msg_id, timeout=30)
    final = run.final[MIME]
    assert final["status"] == "interrupted" and final["text"]
    assert final["text"] == kernel.value("_llm.text")
    (closed,) = run.of("comm_close")
    assert closed["content"]["comm_id"] == opened["content"]["comm_id"]
    kinds = [m["msg_type"] for m in run.messages]
    last_update = max(i for i, kind in enumerate(kinds) if kind == "update_display_data")
    assert kinds.index("comm_close") > last_update  # the final bundle, then the closing
