"""Bytes and messages to the browser for one live ``%%llm`` answer, four ways, and the chat.

For 500, 2,000 and 8,000 tokens at 50 and 500 tok/s, and 200 and 500 tokens at 5 and
10 tok/s (a slow local model; the scripted OpenAI-compatible server, one word per token,
paced), four real kernels run the same cell at the same time:

* **old** — every coalesced update carries the whole bundle (≤ 20 a second), as before
  issue 11 (the publisher is forced back to ``IPythonPublisher``);
* **fallback** — no nbstream front end said hello (nbclient, nbconvert, a front end
  without the extension): sparse whole bundles;
* **deltas** — the test client answers the kernel's invite as the extension does: the
  first bundle, only new text on the answer's comm, the final bundle;
* **widgets** — the test client's probe says hello as a widget host without the
  extension does (VS Code, Colab, ipywidgets only): the first bundle, the answer's small
  widget and its view, deltas on it, the final bundle, the widget's closing. The chat's
  script, sent once per kernel at the hello, is not part of any answer (printed once).

Every IOPub message of the answer (display, update, comm open / msg / close) is
serialized as on the wire (``Session.serialize``: header, parent, metadata, content,
signature) and summed; ratios are to the final ``update_display_data``. The chat widget
(``nbstream.chat``, same answer, same pace) is measured in this process as
``bench/bench_widget.py`` does (its comm messages, serialized the same way).
Run: ``python bench/bench_wire.py`` (about 8 minutes: the 8,000-token answers at
50 tok/s take 160 s, the 500 at 5 tok/s 100 s). ``BENCH_MODES=widgets BENCH_RATES=50,500``
runs only those kernels and rates (no chat column unless ``chat`` is named).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import comm

from bench.bench_widget import CountingComm, measure_nbstream
from nbstream._channel import HELLO_WAIT
from tests.kernel import Execution, Kernel
from tests.servers.scripted import Script, ScriptedServer, chat_delta, sse

PLAN = [
    *((rate, tokens) for rate in (5, 10) for tokens in (200, 500)),
    *((rate, tokens) for rate in (50, 500) for tokens in (500, 2_000, 8_000)),
]
"""(tok/s, tokens) of each row."""
ALL_MODES = ("old", "fallback", "deltas", "widgets")
_chosen = os.environ.get("BENCH_MODES", ",".join([*ALL_MODES, "chat"])).split(",")
MODES = tuple(m for m in ALL_MODES if m in _chosen)
CHAT = "chat" in _chosen
_rates = os.environ.get("BENCH_RATES")
if _rates:
    PLAN = [(rate, tokens) for rate, tokens in PLAN if str(rate) in _rates.split(",")]
WIRE_TYPES = {"display_data", "update_display_data", "comm_open", "comm_msg", "comm_close"}


def paced(tokens: int, per_second: float) -> Script:
    words = [f"word{i % 97} " for i in range(tokens)]
    batch = max(1, int(per_second // 100))  # ≤ 100 pauses a second: sleep() stays accurate
    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for i in range(0, tokens, batch):
        body += [b"".join(sse(*(chat_delta(w) for w in words[i : i + batch]), done=False))]
        body.append(batch / per_second)
    body += sse(chat_delta(finish="stop"))
    return Script(body=body)


def start(mode: str) -> Kernel:
    kernel = Kernel()
    setup = kernel.run("%load_ext nbstream")
    if mode == "old":
        kernel.run(
            "import nbstream._wire as _w, nbstream._live as _r\n"
            "_w.live_publisher = lambda: _r.IPythonPublisher()"
        )
    if mode == "widgets":
        (probe,) = [
            m
            for m in setup.of("comm_open")
            if m["content"]["data"]
            .get("state", {})
            .get("_anywidget_id", "")
            .endswith("ProbeWidget")
        ]
        hello = {"kind": "hello", "version": 1, "lab": False}
        data = {"method": "custom", "content": hello}
        msg = kernel.client.session.msg(
            "comm_msg", {"comm_id": probe["content"]["comm_id"], "data": data}
        )
        kernel.client.shell_channel.send(msg)
        assert kernel.value("__import__('nbstream._widgethost', fromlist=['_']).present()")
    if mode == "deltas":
        (invite,) = [
            m for m in setup.of("comm_open") if m["content"]["data"].get("kind") == "invite"
        ]
        hello = {"comm_id": invite["content"]["comm_id"], "data": {"kind": "hello", "version": 1}}
        kernel.client.shell_channel.send(kernel.client.session.msg("comm_msg", hello))
        assert kernel.value("__import__('nbstream._channel', fromlist=['_']).present()")
    return kernel


def measure(kernel: Kernel, run: Execution) -> tuple[int, int, int]:
    """Messages and bytes of the answer, and the final bundle's bytes."""

    def size(msg: dict[str, Any]) -> int:
        return sum(len(frame) for frame in kernel.client.session.serialize(msg))

    shown = [m for m in run.messages if m["msg_type"] in WIRE_TYPES]
    return len(shown), sum(size(m) for m in shown), size(run.updates[-1])


def main() -> None:
    kernels = {mode: start(mode) for mode in MODES}
    time.sleep(HELLO_WAIT)  # past the invite's grace: the fallback kernel expects no hello
    comm.create_comm = CountingComm
    rows = []
    try:
        for rate, tokens in PLAN:
            names = [*MODES, "chat"] if CHAT else list(MODES)
            servers = {mode: ScriptedServer(paced(tokens, rate)) for mode in names}
            for server in servers.values():
                server.__enter__()
            try:
                ids = {
                    mode: kernels[mode].submit(
                        f"%%llm openai:m --base-url {servers[mode].url}/v1\nGo"
                    )
                    for mode in MODES
                }
                chat: dict[str, Any] = {}

                def run_chat(
                    url: str = servers["chat"].url if CHAT else "", into: dict = chat
                ) -> None:
                    wire, _text, _ = measure_nbstream("openai:m", base_url=url + "/v1")
                    into.update(messages=wire.messages, bytes=wire.bytes)

                chatting = threading.Thread(target=run_chat)
                if CHAT:
                    chatting.start()
                results = {m: measure(kernels[m], kernels[m].collect(ids[m], 600)) for m in MODES}
                if CHAT:
                    chatting.join()
            finally:
                for server in servers.values():
                    server.__exit__(None, None, None)
            final = results[MODES[-1]][2]
            rows.append((rate, tokens, final, results, chat))
            print_row(rows[-1])
    finally:
        for kernel in kernels.values():
            kernel.shutdown()
    print()
    columns = [*MODES, *(["chat"] if CHAT else [])]
    heads = " | ".join(f"{c}: msgs, bytes, ×" for c in columns)
    print(f"| tok/s | tokens | final bundle | {heads} |")
    print("|---|---|---|" + "---|" * len(columns))
    for row in rows:
        print(markdown_row(row))


def _cell(messages: int, sent: int, final: int) -> str:
    return f"{messages:,}, {_kb(sent)}, {sent / final:.1f}×"


def _kb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def markdown_row(row: tuple[Any, ...]) -> str:
    rate, tokens, final, results, chat = row
    cells = [_cell(*results[m][:2], results[m][2]) for m in MODES]
    if chat:
        cells.append(_cell(chat["messages"], chat["bytes"], final))
    return f"| {rate} | {tokens:,} | {_kb(final)} | " + " | ".join(cells) + " |"


def print_row(row: tuple[Any, ...]) -> None:
    print(markdown_row(row), flush=True)


if __name__ == "__main__":
    main()
