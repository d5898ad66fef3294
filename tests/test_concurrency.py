"""Several generations at once in one kernel: serialized where they must be, never mixed.

Two chat widgets and a ``%%llm`` cell on the *same* in-kernel model run at once: the
model's lock serializes them (two threads on one ``Llama`` would abort the process), and
with greedy decoding each answer must equal the answer the same request gets alone — text
from one generation leaking into another, or a KV cache disturbed mid-answer, would show
as a difference. Three widgets on HTTP backends stream truly in parallel and each must
get its own answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .kernel import MIME, Kernel
from .servers.scripted import Recorded, Script, ScriptedServer, sse


def respond(request: Recorded) -> Script:
    prompt = request.json()["messages"][-1]["content"]
    pieces: list[Any] = []
    for i in range(30):
        pieces += [*sse({"choices": [{"delta": {"content": f"{prompt}-{i} "}}]}, done=False), 0.01]
    pieces += sse({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    return Script(body=pieces)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    assert k.run("%load_ext nbstream\nimport nbstream").status == "ok"
    yield k
    k.shutdown()


def test_two_widgets_and_a_cell_on_one_model(kernel: Kernel, tiny_model: Path) -> None:
    spec = f"llama:{tiny_model}"
    setup = kernel.run(
        f"def ask(text):\n"
        f"    c = nbstream.Chat(model={spec!r}, temperature=0, max_tokens=3000)\n"
        f"    c.send(text)\n"
        f"    return c.wait(60).text\n"
        f"solo = {{p: ask(p) for p in ('alpha', 'beta')}}\n"
        f"c1 = nbstream.Chat(model={spec!r}, temperature=0, max_tokens=3000)\n"
        f"c2 = nbstream.Chat(model={spec!r}, temperature=0, max_tokens=3000)"
    )
    assert setup.status == "ok", setup.errors
    solo_cell = kernel.run(f"%%llm {spec} -t 0 -n 3000\ngamma")
    solo_gamma = solo_cell.final[MIME]["text"]

    started = kernel.run("c1.send('alpha'); c2.send('beta')")
    assert started.status == "ok", started.errors
    cell = kernel.run(
        "overlap = (c1.widget.busy, c2.widget.busy)\n"
        f"get_ipython().run_cell_magic('llm', '{spec} -t 0 -n 3000', 'gamma')"
    )
    assert cell.status == "ok", cell.errors
    assert kernel.value("overlap") == [True, True], "the widgets had finished already"
    results = kernel.value(
        "[c1.wait(60).text, c2.wait(60).text, c1.wait().status, c2.wait().status, solo]"
    )
    alpha, beta, status1, status2, solo = results
    assert (status1, status2) == ("done", "done")
    assert alpha == solo["alpha"] and beta == solo["beta"]
    assert cell.final[MIME]["text"] == solo_gamma
    assert alpha and beta and solo_gamma and len({alpha, beta, solo_gamma}) == 3


def test_three_widgets_on_http_at_once(kernel: Kernel) -> None:
    with ScriptedServer(respond) as server:
        url = f"{server.url}/v1"
        run = kernel.run(
            f"chats = [nbstream.Chat(model='openai:m', base_url={url!r}) for _ in range(3)]\n"
            "for i, c in enumerate(chats):\n"
            "    c.send(f'q{i}')"
        )
        assert run.status == "ok", run.errors
        # All three are streaming at the same time: each request arrived before any ended.
        for count in (1, 2, 3):
            server.wait_for_request(count)
        assert all(
            r.finished_at is None or r.finished_at > server.requests[2].received_at
            for r in server.requests[:3]
        )
        texts = kernel.value("[c.wait(30).text for c in chats]")
    for i, text in enumerate(texts):
        words = text.split()
        assert words == [f"q{i}-{n}" for n in range(30)], json.dumps(text)[:200]
