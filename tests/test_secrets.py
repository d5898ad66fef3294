"""API keys never appear anywhere: a whole notebook run, searched for the key.

The notebook exercises every path that could echo a key — a server that reflects the
Authorization header in its answer and in its errors, ``--dry-run``, ``--record``,
``%llm models``, reprs, ``_llm.error``, the Python API, a key named by
``--api-key-env``, a key embedded in the base URL — and is executed by nbclient in a real
kernel. Then the saved notebook, the recording and every message the kernel sent are
searched for both keys. The server really received the key, so the test would notice a
key that was never sent as well.

The second half is about a key echoed split across chunks: the Stream at random splits
and at every ending, recordings and their replay, ``stream()`` and ``generate()``'s
printing. The live cell (``test_magic_kernel.py``) and the chat widget
(``test_widget.py``) are checked against a server that does the same.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

import nbstream
from nbstream._response import Response
from nbstream._secrets import safe_url, secret_values
from nbstream._stream import Stream
from nbstream._types import Cancel, Chunk, Request
from nbstream.recording import Replay
from nbstream.recording._read import Exchange, load
from nbstream.recording._write import recorder, request_dict

from .fakes import Boom, ListBackend
from .servers.scripted import Recorded, Script, ScriptedServer, chat_delta, sse

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


@pytest.mark.kernel
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


# -- a key split across chunks: held back in every live path --------------------------
#
# The rule: while a stream runs, the end of the text that could still become a key is
# held back, so no live view ever shows a piece of a key; the final text is masked as a
# whole. Checked here as "no prefix of the key of 8 or more characters" (shorter pieces,
# like "sk-", are ordinary text): any such prefix contains KEY[:8].

PIECE = KEY[:8]
REQUEST = Request(backend="fake", model="m")


def split_key_answer(cut: int) -> list[Chunk]:
    return [Chunk(text=f"you sent {KEY[:cut]}"), Chunk(text=f"{KEY[cut:]} back"), Chunk(text="!")]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["you sent ", KEY, " and ", "sk-", "s", "*", "\n"]), max_size=8),
    st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)
def test_stream_chunks_and_snapshots_never_show_part_of_a_key(
    monkeypatch: pytest.MonkeyPatch, pieces: list[str], cuts: list[int]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    full = "".join(pieces)
    bounds = sorted({0, len(full), *(c for c in cuts if c < len(full))})
    sent = [full[a:b] for a, b in itertools.pairwise(bounds)]
    stream = Stream(ListBackend([Chunk(text=t) for t in sent]), REQUEST)
    shown = ""
    for chunk in stream:
        shown += chunk.text
        assert PIECE not in shown and PIECE not in stream.snapshot().text
    response = stream.snapshot()
    assert PIECE not in response.text
    # Everything that was shown, and only that, is the answer: the masked whole text.
    assert response.text == shown == full.replace(KEY, "***")
    assert response.tokens == len(sent)  # holding back changes no count


@pytest.mark.parametrize("ending", ["done", "stop", "error", "interrupt", "closed"])
@pytest.mark.parametrize(
    ("last", "released"), [(KEY[:12], "***"), ("sk-se", "sk-se"), (KEY, "***")]
)
def test_the_held_back_tail_is_released_however_the_stream_ends(
    monkeypatch: pytest.MonkeyPatch, ending: str, last: str, released: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # A kernel interrupt arrives inside the backend's loop, as KeyboardInterrupt.
    errors = {"error": Boom("The server broke; try again."), "interrupt": KeyboardInterrupt()}
    error = errors.get(ending)
    cut = len(last) // 2
    sent = [Chunk(text="ok "), Chunk(text=last[:cut]), Chunk(text=last[cut:])]
    cancel = Cancel()
    stream = Stream(ListBackend(sent, error=error), REQUEST, cancel=cancel)
    iterator = iter(stream)
    shown = ""
    with contextlib.suppress(Boom, KeyboardInterrupt):
        for index, chunk in enumerate(iterator):
            shown += chunk.text
            if index == 2 and ending == "stop":
                cancel.request()
            if index == 2 and ending == "closed":
                iterator.close()  # type: ignore[attr-defined]
    response = stream.snapshot()
    assert response.text == f"ok {released}"
    assert response.tokens == 3
    assert PIECE not in response.text
    if ending in ("done", "stop", "error"):
        assert shown == response.text  # the tail came as a last chunk


def test_overlapping_keys_are_never_shown_in_part(monkeypatch: pytest.MonkeyPatch) -> None:
    # One key ends with the beginning of another: holding back that beginning must not
    # cut the first key in two.
    first, second = "sk-alpha-KEY-1234", "1234-beta-XYZW"
    monkeypatch.setenv("OPENAI_API_KEY", first)
    monkeypatch.setenv("MY_GATEWAY_KEY", second)
    sent = [Chunk(text=f"see {first}"), Chunk(text="-beta-XYZW"), Chunk(text=".")]
    stream = Stream(ListBackend(sent), REQUEST)
    shown = ""
    for chunk in stream:
        shown += chunk.text
        assert first[:8] not in shown and second[:8] not in shown
    assert shown == stream.snapshot().text == "see ***-beta-XYZW."  # as masking the whole


def test_reasoning_is_held_back_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    sent = [Chunk(reasoning=f"the key {KEY[:10]}"), Chunk(reasoning=KEY[10:]), Chunk(text="no")]
    stream = Stream(ListBackend(sent), REQUEST)
    seen = [chunk.reasoning for chunk in stream]
    assert seen[0] == "the key " and "".join(seen) == "the key ***"
    assert stream.snapshot().reasoning == "the key ***"


def recorded(chunks: list[Chunk], path: Path) -> Stream:
    """A Stream whose exchange is appended to ``path`` when it ends."""
    stream = Stream(ListBackend(chunks), REQUEST)
    stream.on_end(recorder(str(path)))
    return stream


def replayed(exchange: Exchange) -> Response:
    replay = Replay(exchange)
    return Stream(replay, REQUEST, clock=replay.clock).response()


def test_a_recording_of_a_split_key_holds_none_of_it_and_replays_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    recording = tmp_path / "rec.jsonl"
    # The answer ends in a held-back piece ("s"), released at the end.
    sent = [*split_key_answer(11), Chunk(text=" s"), Chunk(finish_reason="stop")]
    live = recorded(sent, recording)
    live_response = live.response()
    assert live_response.text == "you sent *** back! s"
    text = recording.read_text(encoding="utf-8")
    assert PIECE not in text and "***" in text
    # An answer held back whole until the end still came at its time (its first token).
    whole = recorded([Chunk(text="sk-")], recording).response()
    assert whole.text == "sk-" and whole.ttft_s is not None
    for _ in range(2):
        replays = [replayed(exchange) for exchange in load(str(recording))]
        assert replays == [live_response, whole]
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # then elsewhere, with no key


def echo_split_key(request: Recorded) -> Script:
    """Echo the request's key back, split across two events with a pause between."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    cut = len(key) // 2
    first = sse(chat_delta(f"you sent {key[:cut]}"), done=False)
    rest = sse(chat_delta(f"{key[cut:]} back"), chat_delta(finish="stop"))
    return Script(body=[*first, 0.2, *rest])


def test_stream_and_generate_outside_ipython_never_show_part_of_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("NBSTREAM_REPLAY", raising=False)
    monkeypatch.delenv("NBSTREAM_RECORD", raising=False)
    with ScriptedServer(echo_split_key) as echo:
        base = f"{echo.url}/v1"
        texts = [chunk.text for chunk in nbstream.stream("Echo", model="openai:m", base_url=base)]
        assert PIECE not in json.dumps(texts) and "".join(texts) == "you sent *** back"
        response = nbstream.generate("Echo", model="openai:m", base_url=base)
        assert echo.last.headers["authorization"] == f"Bearer {KEY}"
    printed = capsys.readouterr().out
    assert PIECE not in printed and printed == "you sent *** back\n"
    assert response.text == "you sent *** back"


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "DB_PASSWORD",
        "PROXY_AUTH",
        "GCP_CREDENTIALS",
        "SESSION_COOKIE",
        "EXTRA_HEADERS",
        "X_SIGNATURE",
        "SIG",
    ],
)
def test_one_list_of_secret_names_for_environment_recordings_and_urls(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same names are credentials everywhere: a variable's value is masked, a backend
    # option is left out of a recording, a URL's query value is hidden in messages.
    value = "v4lue-Zq81xYw"
    monkeypatch.setenv(name, value)
    assert value in secret_values()
    request = Request(backend="fake", model="m", options={name.lower(): value, "top_k": 3})
    assert request_dict(request)["options"] == {"top_k": 3}
    shown = safe_url(f"http://host:8/v1?{name.lower()}={value}&model=m")
    assert value not in shown and "model=m" in shown and shown.startswith("http://host:8/v1?")
