import ast
import contextlib
import itertools
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

import nbstream
from nbstream._exceptions import HTTPStatusError, NbstreamError
from nbstream._stream import Ending, Stream
from nbstream._types import Cancel, Chunk, Request, Usage

from .fakes import Boom, ListBackend, text_chunks

REQUEST = Request(backend="fake", model="m")


def test_live_then_replay() -> None:
    backend = ListBackend([*text_chunks("héllo"), Chunk(finish_reason="stop", usage=Usage(3, 5))])
    stream = Stream(backend, REQUEST)
    first = [c.text for c in stream]
    second = [c.text for c in stream]
    assert first == second
    assert backend.started == 1 and backend.closed
    response = stream.snapshot()
    assert response.text == "héllo"
    assert response.status == "done"
    assert response.finish_reason == "stop"
    assert response.usage == Usage(3, 5)
    assert response.tokens == 5


def test_reasoning_kept_apart() -> None:
    backend = ListBackend(
        [Chunk(reasoning="think "), Chunk(reasoning="more"), Chunk(text="answer")]
    )
    response = Stream(backend, REQUEST).response()
    assert response.text == "answer"
    assert response.reasoning == "think more"


def test_error_keeps_partial_text() -> None:
    backend = ListBackend(text_chunks("part"), error=Boom("The server broke; try again."))
    stream = Stream(backend, REQUEST)
    with pytest.raises(Boom):
        for _ in stream:
            pass
    response = stream.snapshot()
    assert response.text == "part"
    assert response.status == "error"
    assert response.error == "The server broke; try again."
    assert backend.closed


def test_unexpected_exception_becomes_one_sentence() -> None:
    backend = ListBackend(text_chunks("ab"), error=KeyError("x"))
    stream = Stream(backend, REQUEST)
    with pytest.raises(NbstreamError) as info:
        stream.response() if False else list(stream)
    assert "KeyError" in str(info.value)
    assert stream.snapshot().text == "ab"


def test_keyboard_interrupt_is_interrupted_and_closes() -> None:
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST)
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            if chunk.text == "c":
                raise KeyboardInterrupt
    assert backend.closed
    response = stream.snapshot()
    assert response.status == "interrupted"
    assert response.text == "abc"


def test_consumer_break_closes_backend() -> None:
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST)
    iterator = iter(stream)
    next(iterator)
    iterator.close()  # type: ignore[attr-defined]
    assert backend.closed
    assert stream.snapshot().status == "interrupted"


def test_cancel_stops_after_current_chunk() -> None:
    cancel = Cancel()
    backend = ListBackend(text_chunks("abcdef"))
    stream = Stream(backend, REQUEST, cancel=cancel)
    seen = []
    for chunk in stream:
        seen.append(chunk.text)
        if chunk.text == "b":
            cancel.request()
    assert seen == ["a", "b"]
    assert stream.snapshot().status == "interrupted"
    assert backend.closed


def test_timings_with_injected_clock() -> None:
    # Read at the request, at each chunk's arrival, and at the end.
    ticks = iter([0.0, 0.5, 1.0, 1.5, 1.5])
    backend = ListBackend([Chunk(text="a"), Chunk(text="b"), Chunk(text="c")])
    stream = Stream(backend, REQUEST, clock=lambda: next(ticks))
    list(stream)
    response = stream.snapshot()
    assert response.ttft_s == 0.5
    assert response.tokens_per_s == pytest.approx(2 / 1.0)


def test_cancel_callbacks_run_once_and_late_registration_runs_now() -> None:
    cancel = Cancel()
    calls: list[str] = []
    remove = cancel.on_request(lambda: calls.append("a"))
    cancel.on_request(lambda: calls.append("b"))
    remove()
    cancel.request()
    cancel.request()
    cancel.on_request(lambda: calls.append("late"))
    assert calls == ["b", "late"]


# -- the end hook: how a stream tells whoever listens (recording) that it ended -----------


def ticking(step: float = 0.25) -> Callable[[], float]:
    """A clock that advances ``step`` seconds each time it is read (from 10.0)."""
    reads = itertools.count()
    return lambda: 10.0 + step * next(reads)


def test_on_end_gets_the_chunks_their_offsets_and_the_end() -> None:
    endings: list[Ending] = []
    chunks = [Chunk(text="a"), Chunk(text="b", finish_reason="stop")]
    backend = ListBackend(chunks)
    stream = Stream(backend, REQUEST, clock=ticking())
    stream.on_end(endings.append)
    assert [c.text for c in stream] == ["a", "b"]
    (ending,) = endings
    assert ending == Ending(
        request=REQUEST,
        chunks=tuple(chunks),
        offsets=(0.25, 0.5),  # read at each arrival, from the request's reading (10.0)
        tail=None,
        end=0.75,
        how="done",
        error=None,
    )
    assert stream.snapshot().elapsed_s == ending.end


def test_on_end_runs_after_the_backend_is_closed() -> None:
    backend = ListBackend(text_chunks("ab"))
    seen: list[bool] = []
    stream = Stream(backend, REQUEST)
    stream.on_end(lambda ending: seen.append(backend.closed))
    stream.response()
    assert seen == [True]


def cancel_at_b(stream: Stream) -> None:
    for chunk in stream:
        if chunk.text == "b":
            stream.cancel.request()


def close_at_b(stream: Stream) -> None:
    iterator = iter(stream)
    while next(iterator).text != "b":
        pass
    iterator.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("consume", "interrupt", "how"),
    [
        (cancel_at_b, False, "stop"),
        (close_at_b, False, "closed"),
        (list, True, "interrupt"),  # a kernel interrupt lands inside the backend's loop
    ],
)
def test_on_end_says_how_the_stream_ended(
    consume: Callable[[Stream], object], interrupt: bool, how: str
) -> None:
    endings: list[Ending] = []
    error = KeyboardInterrupt() if interrupt else None
    stream = Stream(ListBackend(text_chunks("ab"), error=error), REQUEST)
    stream.on_end(endings.append)
    with contextlib.suppress(KeyboardInterrupt):
        consume(stream)
    (ending,) = endings
    assert ending.how == how and ending.error is None
    assert [c.text for c in ending.chunks] == ["a", "b"] and len(ending.offsets) == 2


def test_on_end_gets_the_error_and_the_partial_answer() -> None:
    endings: list[Ending] = []
    error = Boom("The server broke; try again.")
    stream = Stream(ListBackend(text_chunks("ab"), error=error), REQUEST)
    stream.on_end(endings.append)
    stream.response()
    (ending,) = endings
    assert ending.how == "error" and ending.error is error
    assert [c.text for c in ending.chunks] == ["a", "b"]


def test_on_end_after_the_end_is_called_at_once_with_the_same_ending() -> None:
    first: list[Ending] = []
    late: list[Ending] = []
    stream = Stream(ListBackend(text_chunks("ab")), REQUEST, clock=ticking())
    stream.on_end(first.append)
    stream.response()
    stream.on_end(late.append)
    assert late == first and len(late) == 1
    list(stream)  # iterating again replays from memory: no second ending
    assert len(first) == 1 and len(late) == 1


def test_on_end_keeps_the_released_tail_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test-Vx93LqZ2mN")
    endings: list[Ending] = []
    stream = Stream(ListBackend([Chunk(text="see sk-se")]), REQUEST)  # "sk-se" held back
    stream.on_end(endings.append)
    assert "".join(c.text for c in stream) == "see sk-se"
    (ending,) = endings
    assert [c.text for c in ending.chunks] == ["see "] and len(ending.offsets) == 1
    assert ending.tail == Chunk(text="sk-se")


def test_a_failing_on_end_callback_is_raised_from_the_loop() -> None:
    def refuse(ending: Ending) -> None:
        raise NbstreamError("Could not append to the recording r.jsonl; check the path.")

    backend = ListBackend(text_chunks("ab"))
    stream = Stream(backend, REQUEST)
    stream.on_end(refuse)
    with pytest.raises(NbstreamError, match="Could not append"):
        list(stream)
    assert backend.closed and stream.snapshot().text == "ab"


def test_stream_imports_nothing_of_recording() -> None:
    # The Stream works with no recording code at all: neither it nor anything it
    # imports (at any depth, lazily or not) names nbstream.recording.
    package = Path(nbstream.__file__).parent
    seen: set[str] = set()
    todo = ["nbstream._stream"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")[1:]
        path = package.joinpath(*parts)
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = name.split(".")[: -node.level] if node.level else []
                if node.level and source.name == "__init__.py":
                    base = name.split(".")[: len(name.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                assert not target.startswith("nbstream.recording"), (name, target)
                if target.startswith("nbstream.") and _is_module(package, target):
                    todo.append(target)
    assert {"nbstream._stream", "nbstream.backends", "nbstream._secrets"} <= seen


def _is_module(package: Path, name: str) -> bool:
    path = package.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("cause", [None, OSError("the socket said no")])
def test_an_error_is_masked_when_made_not_rewritten(
    monkeypatch: pytest.MonkeyPatch, cause: OSError | None
) -> None:
    key = "sk-secret-test-Vx93LqZ2mN"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    try:
        raise HTTPStatusError(f"The server refused {key} (HTTP 401).", 401) from cause
    except HTTPStatusError as exc:
        said = exc
    stream = Stream(ListBackend(text_chunks("ab"), error=said), REQUEST)
    with pytest.raises(HTTPStatusError) as raised:
        list(stream)
    error = raised.value
    # The user's error: the same class and fields, its message masked, made once.
    assert error is stream.error and error.status_code == 401
    assert str(error) == error.message == "The server refused *** (HTTP 401)."
    assert error.args == ("The server refused *** (HTTP 401).",)
    assert error.__cause__ is cause
    assert key not in "".join(traceback.format_exception(error))  # no chain to the original
    assert said.message == f"The server refused {key} (HTTP 401)."  # the backend's, untouched
    assert stream.snapshot().error == error.message


def test_chunk_keeps_the_dataclass_contract() -> None:
    # Chunk's __init__ is written by hand (speed: one per token); it must stay the one the
    # dataclass would generate: the fields in order, their defaults, positional or keyword.
    import dataclasses
    import inspect

    params = list(inspect.signature(Chunk).parameters.values())
    fields = dataclasses.fields(Chunk)
    assert [(p.name, p.default, p.kind) for p in params] == [
        (f.name, f.default, inspect.Parameter.POSITIONAL_OR_KEYWORD) for f in fields
    ]
    values = ("t", "r", "stop", Usage(1, 2), "m", 3, 0.5)
    chunk = Chunk(*values)
    assert tuple(getattr(chunk, f.name) for f in fields) == values
    assert chunk == Chunk(**{f.name: v for f, v in zip(fields, values, strict=True)})
    assert hash(chunk) == hash(Chunk(*values))
    assert Chunk() == Chunk(text="", tokens=0) != Chunk(text="x")
    assert dataclasses.replace(chunk, text="u") == Chunk("u", *values[1:])
    with pytest.raises(dataclasses.FrozenInstanceError):
        chunk.text = "changed"  # type: ignore[misc]


def test_the_accumulated_text_read_between_chunks_is_everything_so_far() -> None:
    # Each read joins only the parts added since the last one (the live output reads ~20
    # times a second); every read must still be the whole text so far.
    from nbstream._accumulate import Accumulator

    acc = Accumulator()
    text = reasoning = ""
    for i in range(50):
        chunk = Chunk(text=f"t{i} " * (i % 3), reasoning=f"r{i}" if i % 4 == 0 else "")
        acc.add(chunk)
        text += chunk.text
        reasoning += chunk.reasoning
        if i % 5 != 4:  # some adds go unread
            assert (acc.text, acc.reasoning) == (text, reasoning)
    acc.release("held", "back")
    assert (acc.text, acc.reasoning) == (text + "held", reasoning + "back")
    assert (acc.text, acc.reasoning) == (text + "held", reasoning + "back")


# -- the untimed loop: a driven stream of plain strings nobody records -------------------


class StrBackend:
    """Yields the given items as they are (plain ``str`` among them, as the py backend does)."""

    name = "fake"

    def __init__(self, items: list[object]) -> None:
        self.items = items
        self.closed = False

    def stream(self, request: Request, cancel: Cancel | None = None):  # type: ignore[no-untyped-def]
        try:
            yield from self.items
        finally:
            self.closed = True


def counting_clock() -> tuple[Callable[[], float], list[float]]:
    """A clock that advances 0.25 s a read, and the list of its readings."""
    reads: list[float] = []

    def clock() -> float:
        reads.append(10.0 + 0.25 * len(reads))
        return reads[-1]

    return clock, reads


def test_a_driven_stream_of_strings_reads_the_clock_at_the_start_first_and_end_only() -> None:
    clock, reads = counting_clock()
    stream = Stream(StrBackend(["a"] * 1000), REQUEST, clock=clock)
    stream.drive()
    assert len(reads) == 3  # the request, the first chunk, the end: none per chunk
    response = stream.snapshot()
    assert (response.text, response.tokens, response.status) == ("a" * 1000, 1000, "done")
    assert response.ttft_s == 0.25 and response.elapsed_s == 0.5
    assert response.tokens_per_s == pytest.approx(999 / 0.25)
    late: list[Ending] = []
    stream.on_end(late.append)  # added after the start: the chunks, but no times
    assert len(late[0].chunks) == 1000 and late[0].offsets is None


def test_a_listener_before_the_start_gets_every_arrival_time() -> None:
    clock, reads = counting_clock()
    stream = Stream(StrBackend(["a", "b", "c"]), REQUEST, clock=clock)
    endings: list[Ending] = []
    stream.on_end(endings.append)  # as a recording does
    stream.drive()
    assert endings[0].offsets == (0.25, 0.5, 0.75) and endings[0].end == 1.0
    assert len(reads) == 5  # the request, each chunk, the end


def test_the_untimed_loop_hands_any_other_item_to_the_general_one() -> None:
    # An empty string, a Chunk with reasoning and a usage, then strings again: every one
    # is folded as the general loop folds it, and the answer is whole.
    items: list[object] = ["Hel", "", Chunk(reasoning="hm", tokens=2), "lo", Chunk(text="!")]
    items.append(Chunk(finish_reason="stop", usage=Usage(4, 9)))
    stream = Stream(StrBackend(items), REQUEST)
    stream.drive()
    response = stream.snapshot()
    assert (response.text, response.reasoning) == ("Hello!", "hm")
    assert response.finish_reason == "stop" and response.usage == Usage(4, 9)
    assert stream.accumulator.tokens == 1 + 2 + 1 + 1  # "Hel", the 2, "lo", "!"
    assert [c.text for c in stream] == ["Hel", "", "", "lo", "!", ""]


@pytest.mark.parametrize("at", [1, 3])
def test_a_stop_in_the_untimed_loop_ends_after_that_chunk(at: int) -> None:
    cancel = Cancel()
    backend = StrBackend(list("abcdef"))
    seen: list[int] = []

    def changed() -> None:
        seen.append(1)
        if len(seen) == at:
            cancel.request()

    stream = Stream(backend, REQUEST, cancel=cancel, on_chunk=changed)
    stream.drive()
    assert stream.snapshot().text == "abcdef"[:at] and stream.status == "interrupted"
    assert backend.closed


def test_tokens_count_each_appended_text_once_however_it_came() -> None:
    from nbstream._accumulate import Accumulator

    acc = Accumulator()
    append = acc.text_appender()
    append("a")
    acc.add(Chunk(text="bc", tokens=3))
    append("d")
    acc.add(Chunk(text="e"))
    acc.add(Chunk(reasoning="r"))
    acc.release("held", "")
    assert (acc.text, acc.tokens) == ("abcdeheld", 1 + 3 + 1 + 1 + 1)
