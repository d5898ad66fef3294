"""API keys never appear anywhere: a whole notebook run, searched for the key.

The notebook exercises every path that could echo a key — a server that reflects the
Authorization header in its answer and in its errors, ``--dry-run``, ``--record``,
``%llm models``, reprs, ``_llm.error``, the Python API, a key named by
``--api-key-env``, a key embedded in the base URL — and is executed by nbclient in a real
kernel. Then the saved notebook, the recording and every message the kernel sent are
searched for both keys. The server really received the key, so the test would notice a
key that was never sent as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from .servers.scripted import Recorded, Script, ScriptedServer, sse

KEY = "sk-secret-test-Vx93LqZ2mN"
OTHER_KEY = "sk-other-test-Pd71HwK8"


def respond(request: Recorded) -> Script:
    auth = request.headers.get("authorization", "")
    if request.path.endswith("/models"):
        body = json.dumps({"data": [{"id": f"model-for-{auth}"}]}).encode()
        return Script(
            headers=(("Content-Type", "application/json"),), body=[body], framing="length"
        )
    prompt = request.json()["messages"][-1]["content"]
    if "fail" in prompt:
        body = json.dumps({"error": {"message": f"Invalid key: {auth}"}}).encode()
        return Script(401, (("Content-Type", "application/json"),), [body], framing="length")
    if "midstream" in prompt:
        return Script(
            body=sse({"choices": [{"delta": {"content": "x"}}]}, {"error": {"message": auth}})
        )
    echo = {"choices": [{"index": 0, "delta": {"content": f"you sent {auth}"}}]}
    return Script(body=sse(echo, {"choices": [{"delta": {}, "finish_reason": "stop"}]}))


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(respond) as running:
        yield running


def test_no_key_in_any_output(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MY_GATEWAY_KEY", OTHER_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.delenv("NBSTREAM_REPLAY", raising=False)
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    recording = tmp_path / "rec.jsonl"
    url_with_key = f"http://user:{KEY}@127.0.0.1:{server.port}/v1?key={KEY}"
    cells = [
        "%load_ext nbstream",
        f"%%llm openai:m --record {recording}\nsay hello",
        "%%llm openai:m --dry-run\nsay hello",
        "%%llm openai:m\nplease fail",
        "%%llm openai:m\nmidstream please",
        "print(repr(_llm), _llm.error, _llm.to_dict())",
        "%llm models openai:m",
        "%%llm openai:m --api-key-env MY_GATEWAY_KEY\nplease fail",
        "%%llm openai:m --api-key-env MY_GATEWAY_KEY --dry-run\nhi",
        f"%%llm openai:m --base-url {url_with_key}\nplease fail",
        "import nbstream\nr = nbstream.generate('hello', model='openai:m')\nprint(repr(r))",
        "%llm history",
    ]
    notebook = new_notebook(cells=[new_code_cell(c) for c in cells])
    messages: list[dict[str, Any]] = []
    client = NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
        on_notebook_start=None,
    )
    client.on_cell_executed = lambda **kw: messages.append(kw.get("execute_reply") or {})
    client.execute()
    saved = tmp_path / "run.ipynb"
    nbformat.write(notebook, saved)

    # The keys really went to the server (so their absence below means something).
    sent = [r.headers.get("authorization") for r in server.requests]
    assert f"Bearer {KEY}" in sent and f"Bearer {OTHER_KEY}" in sent
    # Every cell ran and produced output.
    assert all(cell.outputs for cell in notebook.cells[1:])

    # Cell sources are what the user typed (one cell puts a key in a URL on purpose);
    # everything nbstream produced is in the outputs and metadata of the saved file.
    saved_outputs = json.dumps(
        [[cell.outputs, cell.metadata] for cell in nbformat.read(saved, 4).cells]
    )
    haystacks = {
        "saved notebook outputs": saved_outputs,
        "recording": recording.read_text(),
        "execute replies": json.dumps(messages, default=str),
    }
    for name, text in haystacks.items():
        for key in (KEY, OTHER_KEY):
            assert key not in text, f"a key leaked into the {name}"
    assert "***" in haystacks["saved notebook outputs"]
