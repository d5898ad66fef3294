"""Recording and replay: a replay is exactly what was recorded, or a clear error.

Recordings are made from real generations — the tiny GGUF through llama-cpp-python, the
scripted HTTP server through the ``openai:`` backend — and replayed through the public
API (``nbstream.stream``, ``$NBSTREAM_REPLAY``, ``replay:`` specs). The kernel test at the
end checks the property nbval relies on: under an instant replay the first (and only)
display is the final bundle the recorded run ended with, byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbstream
from nbstream import Cancel, HTTPStatusError, NbstreamError, StreamError, UsageError
from nbstream.backends import get_backend
from nbstream.recording import Replay, route
from nbstream.recording._read import load

from .kernel import Kernel
from .servers.scripted import Script, ScriptedServer, chat_delta, sse

SECRET = "sk-nbstream-replay-Q7w2Lx9RtB4m"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NBSTREAM_REPLAY", "NBSTREAM_REPLAY_PACE", "NBSTREAM_RECORD", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    body = sse(
        chat_delta(role="assistant"),
        chat_delta("Hel"),
        chat_delta("lo 🙂"),
        chat_delta(finish="stop"),
    )
    with ScriptedServer(Script(body=body)) as running:
        yield running


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(stream: nbstream.Stream) -> tuple[list[nbstream.Chunk], nbstream.Response]:
    chunks = []
    try:
        for chunk in stream:
            chunks.append(chunk)
    except NbstreamError:
        pass
    return chunks, stream.snapshot()


def texts(chunks: list[nbstream.Chunk]) -> list[tuple[str, str | None, int]]:
    return [(c.text, c.finish_reason, c.tokens) for c in chunks]


def as_recorded(response: nbstream.Response) -> nbstream.Response:
    """A live in-kernel response as its replay shows it: the model by its file name."""
    backend, _, path = response.model.partition(":")
    return dataclasses.replace(response, model=f"{backend}:{Path(path).name}")


# -- the round trip ---------------------------------------------------------------------


def test_replay_gives_the_recorded_chunks_and_timings_bit_for_bit(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "rec" / "session.jsonl"  # the folder is created
    ask = {"model": f"llama:{tiny_model}", "temperature": 0, "max_tokens": 25, "seed": 4}
    live_chunks, live = run(nbstream.stream("Once upon a time", record=str(recording), **ask))
    assert live.status == "done" and live.tokens == 25 and live.tokens_per_s is not None

    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    replayed_chunks, replayed = run(nbstream.stream("Once upon a time", **ask))

    assert texts(replayed_chunks) == texts(live_chunks)
    # Text, usage, status and the very same ttft/rate/elapsed floats.
    assert replayed == as_recorded(live)
    (line,) = lines(recording)  # the replay was not recorded again
    assert [c["t"] for c in line["chunks"]] == sorted(c["t"] for c in line["chunks"])
    assert line["end"] == live.elapsed_s


def test_recordings_from_another_machine_match_by_model_file_name(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "r.jsonl"
    ask = {"temperature": 0, "max_tokens": 5}
    run(nbstream.stream("Hello", model=f"llama:{tiny_model}", record=str(recording), **ask))
    moved = tmp_path / "elsewhere" / tiny_model.name  # no file there: nothing is loaded
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    _, replayed = run(nbstream.stream("Hello", model=f"llama:{moved}", **ask))
    assert replayed.status == "done" and replayed.tokens == 5
    assert replayed.model == f"llama:{tiny_model.name}"  # what was recorded is what is shown


def test_a_recording_names_no_folder_host_or_load_option_of_the_machine(
    tiny_model: Path, server: ScriptedServer, tmp_path: Path
) -> None:
    recording = tmp_path / "r.jsonl"
    spec = f"llama:{tiny_model}?n_ctx=512"  # a load option: how this machine loads the model
    run(nbstream.stream("Hello", model=spec, max_tokens=5, seed=1, record=str(recording)))
    url = f"http://127.0.0.1:{server.port}/v1"
    run(nbstream.stream("Hello", model="openai:m", base_url=url, record=str(recording)))
    text = recording.read_text(encoding="utf-8")
    in_kernel, served = lines(recording)
    assert in_kernel["request"]["model"] == tiny_model.name  # what matching needs: the name
    assert in_kernel["request"]["options"] == {}
    assert "base_url" not in served["request"] and "127.0.0.1" not in text
    for machine in (str(tiny_model.parent), str(Path.home()), "/tmp", "/root", "/home", "Users"):
        assert machine not in text


def test_older_recordings_with_absolute_paths_still_match_by_file_name(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "r.jsonl"
    ask = {"temperature": 0, "max_tokens": 5}
    run(nbstream.stream("Hello", model=f"llama:{tiny_model}", record=str(recording), **ask))
    (line,) = lines(recording)
    # As recordings were written before: the absolute path, the base URL, the load options.
    line["request"].update(model=f"/home/someone/models/{tiny_model.name}", base_url=None)
    line["request"]["options"]["load"] = {"n_ctx": 512}
    recording.write_text(json.dumps(line) + "\n", encoding="utf-8")
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    moved = tmp_path / "elsewhere" / tiny_model.name
    _, replayed = run(nbstream.stream("Hello", model=f"llama:{moved}", **ask))
    assert replayed.status == "done" and replayed.tokens == 5
    assert replayed.model == f"llama:{tiny_model.name}"  # shown without the old home folder


def test_a_replayed_exchange_goes_only_to_the_callers_own_record_file(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "recordings" / "r.jsonl"
    ask = {"model": f"llama:{tiny_model}", "temperature": 0, "max_tokens": 5}
    run(nbstream.stream("Hello", record=str(recording), **ask))
    recorded = recording.read_bytes()
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording.parent))
    monkeypatch.setenv("NBSTREAM_RECORD", str(tmp_path / "everything.jsonl"))
    scratch = tmp_path / "scratch" / "example.jsonl"
    run(nbstream.stream("Hello", record=str(scratch), **ask))  # a notebook's own --record
    run(nbstream.stream("Hello", record=str(recording), **ask))  # the very file replayed
    run(nbstream.stream("Hello", **ask))  # $NBSTREAM_RECORD
    assert scratch.read_bytes() == recorded  # the exchange as replayed: as it was recorded
    assert recording.read_bytes() == recorded  # never copied into itself…
    assert not (tmp_path / "everything.jsonl").exists()  # …nor by $NBSTREAM_RECORD


def test_env_record_and_replay_spec(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "r.jsonl"
    monkeypatch.setenv("NBSTREAM_RECORD", str(recording))
    _, live = run(nbstream.stream("Hi", model="openai:m", base_url=f"{server.url}/v1"))
    assert live.text == "Hello 🙂"
    monkeypatch.delenv("NBSTREAM_RECORD")
    # replay: ignores the model; the prompt and options must still match.
    _, replayed = run(nbstream.stream("Hi", model=f"replay:{recording}"))
    assert replayed == live and replayed.model == "openai:m"
    with pytest.raises(NbstreamError, match=r"differs in temperature"):
        list(nbstream.stream("Hi", model=f"replay:{recording}", temperature=1))


def test_the_latest_recording_of_a_request_wins(tmp_path: Path, server: ScriptedServer) -> None:
    recording = tmp_path / "r.jsonl"
    url = f"{server.url}/v1"
    run(nbstream.stream("Hi", model="openai:m", base_url=url, record=str(recording)))
    server.play(Script(body=sse(chat_delta("Second"), chat_delta(finish="stop"))))
    run(nbstream.stream("Hi", model="openai:m", base_url=url, record=str(recording)))
    _, replayed = run(nbstream.stream("Hi", model=f"replay:{recording}"))
    assert replayed.text == "Second"


def test_a_folder_of_recordings(tmp_path: Path, server: ScriptedServer) -> None:
    url = f"{server.url}/v1"
    run(nbstream.stream("One", model="openai:m", base_url=url, record=str(tmp_path / "a.jsonl")))
    run(nbstream.stream("Two", model="openai:m", base_url=url, record=str(tmp_path / "b.jsonl")))
    for prompt in ("One", "Two"):
        _, replayed = run(nbstream.stream(prompt, model=f"replay:{tmp_path}"))
        assert replayed.text == "Hello 🙂"


# -- secrets ----------------------------------------------------------------------------


def test_recordings_hold_no_key(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", SECRET)
    recording = tmp_path / "r.jsonl"
    run(
        nbstream.stream(
            f"my key is {SECRET}",
            model="openai:m",
            base_url=f"http://127.0.0.1:{server.port}/v1?api-key=zzz",
            api_key_env="MY_GATEWAY_KEY",
            headers={"Authorization": f"Bearer {SECRET}"},
            record=str(recording),
        )
    )
    assert server.last.headers["authorization"] == f"Bearer {SECRET}"  # it was sent…
    text = recording.read_text(encoding="utf-8")
    assert SECRET not in text and "Bearer" not in text and "zzz" not in text  # …not kept
    assert "headers" not in text  # options named like credentials are dropped
    (line,) = lines(recording)
    assert line["request"]["messages"] == [{"role": "user", "content": "my key is ***"}]
    assert "base_url" not in line["request"]  # the endpoint is not kept at all
    # The same request still finds its recording, and the error never shows the key.
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    _, replayed = run(nbstream.stream(f"my key is {SECRET}", model="openai:m"))
    assert replayed.text == "Hello 🙂"
    with pytest.raises(NbstreamError) as caught:
        nbstream.stream(f"your key is {SECRET}", model="openai:m")
    assert SECRET not in str(caught.value) and '"your key is ***"' in str(caught.value)


# -- how streams end ----------------------------------------------------------------------


def test_an_error_inside_the_stream_is_replayed_as_the_same_error(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.play(Script(body=sse(chat_delta("Part"), {"error": {"message": "overloaded"}})))
    recording = tmp_path / "r.jsonl"
    url = f"{server.url}/v1"
    live_stream = nbstream.stream("Hi", model="openai:m", base_url=url, record=str(recording))
    with pytest.raises(StreamError) as live_error:
        list(live_stream)
    replay_stream = nbstream.stream("Hi", model=f"replay:{recording}")
    with pytest.raises(StreamError) as replay_error:
        list(replay_stream)
    assert str(replay_error.value) == str(live_error.value)
    assert replay_stream.snapshot() == live_stream.snapshot()
    assert replay_stream.snapshot().text == "Part"
    assert replay_stream.snapshot().status == "error"


def test_an_http_error_keeps_its_status_code(server: ScriptedServer, tmp_path: Path) -> None:
    server.play(
        Script(
            status=503,
            headers=[("Content-Type", "application/json")],
            body=[b'{"error": {"message": "try later"}}'],
        )
    )
    recording = tmp_path / "r.jsonl"
    url = f"{server.url}/v1"
    with pytest.raises(HTTPStatusError):
        list(nbstream.stream("Hi", model="openai:m", base_url=url, record=str(recording)))
    with pytest.raises(HTTPStatusError) as replayed:
        list(nbstream.stream("Hi", model=f"replay:{recording}"))
    assert replayed.value.status_code == 503


def test_a_stop_is_replayed(tiny_model: Path, tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    ask = {"model": f"llama:{tiny_model}", "temperature": 0, "max_tokens": 200}
    live = nbstream.stream("Hello", record=str(recording), **ask)
    for count, _ in enumerate(live, 1):
        if count == 4:
            live.cancel.request()
    assert live.snapshot().status == "interrupted" and live.snapshot().tokens == 4
    replayed = nbstream.stream("Hello", model=f"replay:{recording}", temperature=0, max_tokens=200)
    assert len(list(replayed)) == 4
    assert replayed.snapshot() == as_recorded(live.snapshot())


def test_a_kernel_interrupt_is_replayed(tiny_model: Path, tmp_path: Path) -> None:
    calls = 0

    def interrupt_later(input_ids: Any, scores: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt
        return scores

    recording = tmp_path / "r.jsonl"
    live = nbstream.stream(
        "Hello",
        model=f"llama:{tiny_model}",
        temperature=0,
        logits_processor=interrupt_later,  # not JSON: not part of the recorded request
        record=str(recording),
    )
    with pytest.raises(KeyboardInterrupt):
        list(live)
    assert lines(recording)[0]["ending"] == "interrupt"
    replayed = nbstream.stream("Hello", model=f"replay:{recording}", temperature=0)
    with pytest.raises(KeyboardInterrupt):
        list(replayed)
    assert replayed.snapshot() == as_recorded(live.snapshot())
    assert replayed.snapshot().status == "interrupted"


# -- what fails, and how --------------------------------------------------------------------


def test_no_recording_names_the_request_and_the_closest_one(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "notes.jsonl"
    url = f"{server.url}/v1"
    for prompt in ("Summarise the report", "Write a haiku about rain"):
        run(nbstream.stream(prompt, model="openai:m", base_url=url, record=str(recording)))
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    with pytest.raises(NbstreamError) as caught:
        nbstream.stream("Write a haiku about snow", model="openai:m", max_tokens=9)
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") == 0  # one sentence
    assert 'openai:m "Write a haiku about snow" -n 9' in message  # what was asked
    assert 'closest recorded request is openai:m "Write a haiku about rain"' in message
    assert "differs in messages, max_tokens" in message and "notes.jsonl" in message


def test_an_empty_or_missing_recording_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.jsonl does not exist; make it once"):
        nbstream.stream("Hi", model=f"replay:{tmp_path / 'missing.jsonl'}")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(NbstreamError, match=r"empty\.jsonl holds no exchanges yet"):
        nbstream.stream("Hi", model=f"replay:{empty}")


def test_a_damaged_line_is_named(tmp_path: Path) -> None:
    damaged = tmp_path / "d.jsonl"
    damaged.write_text('{"nbstream": 1}\n')
    with pytest.raises(NbstreamError, match=r"Line 1 of the recording d\.jsonl cannot be read"):
        nbstream.stream("Hi", model=f"replay:{damaged}")


def test_bad_pace_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="Unknown replay pace 'slow'"):
        nbstream.stream("Hi", model=f"replay:{tmp_path}/r.jsonl?pace=slow")
    with pytest.raises(UsageError, match="Unknown replay option 'speed'"):
        nbstream.stream("Hi", model=f"replay:{tmp_path}/r.jsonl?speed=2")


# -- pace ---------------------------------------------------------------------------------


def handmade(path: Path, *, end: float) -> None:
    line = {
        "nbstream": 1,
        "request": {"backend": "ollama", "model": "m", "messages": [], "prompt": "Hi"},
        "chunks": [{"t": end / 2, "text": "A"}, {"t": end, "text": "B", "finish_reason": "stop"}],
        "end": end,
        "ending": "done",
        "error": None,
    }
    line["request"].update(raw=True, stop=[], options={})
    path.write_text(json.dumps(line) + "\n")


def test_recorded_pace_waits_as_recorded_and_instant_does_not(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=0.4)
    started = time.monotonic()
    _, paced = run(nbstream.stream("Hi", model=f"replay:{recording}?pace=recorded", raw=True))
    assert time.monotonic() - started >= 0.4  # sleeping never ends early
    _, instant = run(nbstream.stream("Hi", model=f"replay:{recording}", raw=True))
    assert paced == instant and instant.text == "AB" and instant.elapsed_s == 0.4


def test_stop_ends_a_paced_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=600.0)
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    monkeypatch.setenv("NBSTREAM_REPLAY_PACE", "recorded")
    cancel = Cancel()
    cancel.request()  # a Stop before the first recorded chunk is due
    stream = nbstream.stream("Hi", model="ollama:m", raw=True)
    stream.cancel = cancel
    _, response = run(stream)
    assert response.status == "interrupted" and response.text == ""


# -- the magic, in a real kernel ------------------------------------------------------------


@pytest.mark.kernel
def test_magic_record_then_replay_shows_the_final_bundle_first(
    tiny_model: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "cells.jsonl"
    cell = f"%%llm llama:{tiny_model} -t 0 -n 40 --seed 3 --record {recording}\nOnce upon a time"
    kernel = Kernel()
    try:
        assert kernel.run("%load_ext nbstream").status == "ok"
        live = kernel.run(cell)
        assert live.status == "ok", live.errors
        assert live.updates, "a live run streams updates"
    finally:
        kernel.shutdown()

    kernel = Kernel()
    try:
        setup = kernel.run(f"import os; os.environ['NBSTREAM_REPLAY'] = {str(recording)!r}")
        assert setup.status == "ok"
        assert kernel.run("%load_ext nbstream").status == "ok"
        replayed = kernel.run(cell.replace(f" --record {recording}", ""))
        assert replayed.status == "ok", replayed.errors
        (display,) = replayed.displays
        assert not replayed.updates  # nbval compares the first display: it is the final one
        # The recorded model is shown, which is the model's file name, not this machine's path.
        recorded = json.loads(json.dumps(live.final).replace(f"{tiny_model.parent}{os.sep}", ""))
        assert display["content"]["data"] == recorded
        paced = kernel.run(cell.replace(f"llama:{tiny_model}", f"replay:{recording}?pace=recorded"))
        assert paced.status == "ok", paced.errors
        assert len(paced.displays) == 1 and paced.updates  # a paced replay streams live…
        assert paced.final == recorded  # …and ends on the recorded bundle
        missing = kernel.run(f"%%llm llama:{tiny_model} -t 0 -n 41 --seed 3\nOnce upon a time")
        (error,) = missing.errors
        assert len(error["content"]["traceback"]) == 1
        assert "differs in max_tokens" in error["content"]["evalue"]
    finally:
        kernel.shutdown()
    assert len(lines(recording)) == 1


def test_models_under_replay_lists_the_recorded_models_and_asks_no_server(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=0.1)
    (line,) = lines(recording)
    other = {**line, "request": {**line["request"], "model": "llama3.2"}}
    with recording.open("a", encoding="utf-8") as file:
        file.write(json.dumps(other) + "\n")
    kernel = Kernel({"OLLAMA_HOST": "127.0.0.1:9"})  # nothing listens there
    try:
        setup = kernel.run(f"import os; os.environ['NBSTREAM_REPLAY'] = {str(recording)!r}")
        assert setup.status == "ok"
        assert kernel.run("%load_ext nbstream").status == "ok"
        listed = kernel.run("%llm models ollama:m")
        assert listed.status == "ok", listed.errors
        (display,) = listed.displays
        assert display["content"]["data"]["text/markdown"] == "- `ollama:llama3.2`\n- `ollama:m`"
    finally:
        kernel.shutdown()


# -- one backend, one route -------------------------------------------------------------------


HANDMADE = nbstream.Request(backend="ollama", model="m", prompt="Hi", raw=True)


def test_one_replay_backend_answers_replay_specs_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=0.4)
    by_spec = nbstream.stream("Hi", model=f"replay:{recording}", raw=True)
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    by_environment = nbstream.stream("Hi", model="ollama:m", raw=True)
    assert type(by_spec.backend) is type(by_environment.backend) is type(get_backend("replay"))
    assert type(get_backend("replay")) is Replay


def test_the_route_says_whether_the_answer_is_an_instant_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=0.4)
    replay = dataclasses.replace(HANDMADE, backend="replay", model=str(recording))
    assert route(replay).instant
    assert route(replay).request.spec == "ollama:m"  # shown as recorded
    paced = dataclasses.replace(replay, model=f"{recording}?pace=recorded")
    assert not route(paced).instant
    assert not route(HANDMADE).instant  # live: nothing recorded answers
    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    assert route(HANDMADE).instant
    monkeypatch.setenv("NBSTREAM_REPLAY_PACE", "recorded")
    assert not route(HANDMADE).instant


def test_the_recorded_end_is_the_replays_clock_not_a_chunk(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    handmade(recording, end=0.5)
    (line,) = lines(recording)
    recording.write_text(json.dumps({**line, "end": 0.75}) + "\n", encoding="utf-8")
    (exchange,) = load(str(recording))
    replay = Replay(exchange)
    times = [replay.clock()]
    played = []
    for chunk in replay.stream(HANDMADE):
        played.append(chunk)
        times.append(replay.clock())
    times.append(replay.clock())
    assert played == list(exchange.chunks)  # nothing but the recorded chunks
    assert [c.at for c in played] == [0.25, 0.5]  # which keep their recorded offsets
    assert times == [0.0, 0.25, 0.5, 0.75]
    replayed = nbstream.stream("Hi", model=f"replay:{recording}", raw=True).response()
    assert (replayed.ttft_s, replayed.elapsed_s) == (0.25, 0.75)
