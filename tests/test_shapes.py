"""``ShapeReader`` reads the chunks real client packages produce, objects and dicts.

Every shape ``show()`` accepts is produced here by its own client package against a
local server speaking that API's wire format (``tests/servers/``), or by llama-cpp-python
in-process with the tiny model, then read by one reader and folded by the
:class:`~nbstream._accumulate.Accumulator` the rest of nbstream uses. Each stream is read
twice: as the client's objects and as their ``model_dump()`` dicts. Edge cases (empty
choices, a usage-only chunk, ``None`` content, unknown types, errors inside a stream)
are unit tests on hand-written items below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import anthropic
import ollama
import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI

from nbstream import StreamError
from nbstream._accumulate import Accumulator
from nbstream._shapes import SHAPES, ShapeReader, UnknownChunkError
from nbstream._shapes._fields import text_chunk
from nbstream._types import Chunk, Usage
from tests.servers.event_streams import anthropic_answer, responses_answer
from tests.servers.ollama_fake import OllamaFake, ollama_fake_fixture  # noqa: F401
from tests.servers.scripted import Script, ScriptedServer, chat_delta, sse

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def fold(items: Iterable[object]) -> Accumulator:
    """Read ``items`` with one reader, as show() does, and fold the chunks."""
    reader = ShapeReader()
    answer = Accumulator()
    for item in items:
        chunk = reader.read(item)
        if chunk is not None:
            answer.add(chunk)
    return answer


def dumped(items: Iterable[Any]) -> list[Any]:
    """The same stream as dicts, the way a user who called ``model_dump()`` holds it."""
    return [item.model_dump() for item in items]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


# --- str ------------------------------------------------------------------------------


def test_str_chunks_are_text_and_empty_ones_are_nothing() -> None:
    reader = ShapeReader()
    assert reader.read("Hel") == Chunk(text="Hel")
    assert reader.read("") is None
    answer = fold(["Hel", "", "lo ", "wörld"])
    assert (answer.text, answer.tokens) == ("Hello wörld", 3)


def test_the_fast_text_chunk_equals_a_built_one() -> None:
    fast = text_chunk("x")
    assert fast == Chunk(text="x")
    assert type(fast) is Chunk
    assert dataclasses.asdict(fast) == dataclasses.asdict(Chunk(text="x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "y"  # type: ignore[misc]


def test_a_str_subclass_is_text() -> None:
    class Token(str):
        pass

    assert fold(["a", Token("b"), Token("")]).text == "ab"


# --- OpenAI chat completions ----------------------------------------------------------


def _chat_script() -> Script:
    events = [
        chat_delta(role="assistant"),
        chat_delta("", reasoning_content="Think "),
        chat_delta("", reasoning_content="first."),
        chat_delta("Hel"),
        chat_delta("lo wörld"),
        chat_delta(finish="stop"),
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11},
        },
    ]
    return Script(body=sse(*events))


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_openai_chat_completion_chunks(server: ScriptedServer, as_dicts: bool) -> None:
    server.play(_chat_script())
    with openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0) as client:
        chunks = list(
            client.chat.completions.create(
                model="m",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert type(chunks[0]).__name__ == "ChatCompletionChunk"
    answer = fold(dumped(chunks) if as_dicts else chunks)
    assert answer.text == "Hello wörld"
    assert answer.reasoning == "Think first."
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(prompt_tokens=7, completion_tokens=4)
    assert answer.model == "m"


# --- OpenAI Responses API -------------------------------------------------------------


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_openai_responses_events(server: ScriptedServer, as_dicts: bool) -> None:
    server.play(responses_answer(["Hel", "lo ", "wörld"], ["Two parts.", "Second one."]))
    with openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0) as client:
        events = list(client.responses.create(model="gpt-test-1", input="hi", stream=True))
    assert server.last.path == "/v1/responses"
    assert type(events[-1]).__name__ == "ResponseCompletedEvent"
    answer = fold(dumped(events) if as_dicts else events)
    assert answer.text == "Hello wörld"  # the .done events repeat it: not counted twice
    assert answer.reasoning == "Two parts.\n\nSecond one."
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(prompt_tokens=9, completion_tokens=21)
    assert answer.model == "gpt-test-1"


def test_openai_responses_stream_helper(server: ScriptedServer) -> None:
    """``responses.stream()`` yields the same events (text deltas with a snapshot added)."""
    server.play(responses_answer(["Hel", "lo ", "wörld"], ["Two parts.", "Second one."]))
    with (
        openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0) as client,
        client.responses.stream(model="gpt-test-1", input="hi") as stream,
    ):
        events = list(stream)
    answer = fold(events)
    assert (answer.text, answer.reasoning) == ("Hello wörld", "Two parts.\n\nSecond one.")
    assert answer.usage == Usage(prompt_tokens=9, completion_tokens=21)


@pytest.mark.parametrize("fail", ["event", "failed"])
@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_openai_responses_errors_raise_stream_error_after_the_text(
    server: ScriptedServer, fail: str, as_dicts: bool
) -> None:
    server.play(responses_answer(["Partial", " never"], fail=fail))
    with openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0) as client:
        events = list(client.responses.create(model="gpt-test-1", input="hi", stream=True))
    reader, answer = ShapeReader(), Accumulator()
    with pytest.raises(StreamError) as raised:
        for item in dumped(events) if as_dicts else events:
            chunk = reader.read(item)
            if chunk is not None:
                answer.add(chunk)
    assert answer.text == "Partial"
    expected = "The server had an error" if fail == "event" else "The model failed mid-answer"
    assert str(raised.value) == (
        f"The Responses stream reported an error mid-answer (server_error: {expected}); "
        "the text before it is kept — try again."
    )


# --- Anthropic ------------------------------------------------------------------------


@pytest.fixture
def claude(server: ScriptedServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="sk-ant-test", max_retries=0) as client:
        yield client


def _check_anthropic(answer: Accumulator) -> None:
    assert answer.text == "Hello wörld"
    assert answer.reasoning == "Let me think."
    assert answer.finish_reason == "stop"  # end_turn
    assert answer.usage == Usage(prompt_tokens=12, completion_tokens=30)
    assert answer.model == "claude-test-1"


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_anthropic_create_stream_events(
    server: ScriptedServer, claude: anthropic.Anthropic, as_dicts: bool
) -> None:
    server.play(anthropic_answer(["Hel", "lo ", "wörld"], ["Let me ", "think."]))
    events = list(
        claude.messages.create(model="claude-test-1", max_tokens=50, messages=MESSAGES, stream=True)
    )
    assert server.last.path == "/v1/messages"
    assert type(events[0]).__name__ == "RawMessageStartEvent"
    _check_anthropic(fold(dumped(events) if as_dicts else events))


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_anthropic_messages_stream_helper_counts_each_delta_once(
    server: ScriptedServer, claude: anthropic.Anthropic, as_dicts: bool
) -> None:
    server.play(anthropic_answer(["Hel", "lo ", "wörld"], ["Let me ", "think."]))
    with claude.messages.stream(model="claude-test-1", max_tokens=50, messages=MESSAGES) as stream:
        events = list(stream)
    kinds = {event.type for event in events}
    assert {"text", "thinking", "content_block_delta"} <= kinds  # the repeats are there
    answer = fold(dumped(events) if as_dicts else events)
    _check_anthropic(answer)
    assert answer.tokens == 5


def test_anthropic_convenience_events_alone_and_text_stream(
    server: ScriptedServer, claude: anthropic.Anthropic
) -> None:
    server.play(anthropic_answer(["Hel", "lo ", "wörld"], ["Let me ", "think."]))
    with claude.messages.stream(model="claude-test-1", max_tokens=50, messages=MESSAGES) as stream:
        only = [event for event in stream if event.type in ("text", "thinking")]
    answer = fold(only)
    assert (answer.text, answer.reasoning) == ("Hello wörld", "Let me think.")

    server.play(anthropic_answer(["Hel", "lo ", "wörld"]))
    with claude.messages.stream(model="claude-test-1", max_tokens=50, messages=MESSAGES) as stream:
        assert fold(stream.text_stream).text == "Hello wörld"


def test_anthropic_error_event_dict_raises_stream_error_after_the_text(
    server: ScriptedServer, claude: anthropic.Anthropic
) -> None:
    """The client raises an ``error`` event itself; a dict stream hands it over."""
    server.play(anthropic_answer(["Partial", " never"], error_after=1))
    seen: list[Any] = []
    with pytest.raises(anthropic.APIStatusError):
        for event in claude.messages.create(
            model="claude-test-1", max_tokens=50, messages=MESSAGES, stream=True
        ):
            seen.append(event.model_dump())
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    reader, answer = ShapeReader(), Accumulator()
    with pytest.raises(StreamError) as raised:
        for item in [*seen, error]:
            chunk = reader.read(item)
            if chunk is not None:
                answer.add(chunk)
    assert answer.text == "Partial"
    assert str(raised.value) == (
        "The Anthropic stream reported an error mid-answer (overloaded_error: Overloaded); "
        "the text before it is kept — try again."
    )
    with pytest.raises(StreamError, match="Anthropic"):
        ShapeReader().read(error)  # also as the first item


# --- Ollama ---------------------------------------------------------------------------


@pytest.fixture
def ollama_client(ollama_fake: OllamaFake) -> Iterator[ollama.Client]:
    with ollama.Client(host=ollama_fake.url) as client:
        yield client


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_ollama_chat_chunks_with_thinking(ollama_client: ollama.Client, as_dicts: bool) -> None:
    parts = list(ollama_client.chat(model="thinker", messages=MESSAGES, stream=True, think=True))
    answer = fold(dumped(parts) if as_dicts else parts)
    assert answer.text == "The answer is 4."
    assert answer.reasoning == "Two plus two makes four."
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(
        prompt_tokens=parts[-1].prompt_eval_count, completion_tokens=parts[-1].eval_count
    )
    assert answer.usage.completion_tokens is not None
    assert answer.model == parts[0].model == "thinker"


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_ollama_generate_chunks(ollama_client: ollama.Client, as_dicts: bool) -> None:
    parts = list(ollama_client.generate(model="tiny", prompt="one two", stream=True))
    answer = fold(dumped(parts) if as_dicts else parts)
    assert answer.text == "You said: one two"
    assert answer.finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens == parts[-1].eval_count


def test_ollama_error_line_raises_stream_error_after_the_text(
    ollama_client: ollama.Client,
) -> None:
    """The client raises an error line itself; a dict stream hands it over."""
    seen: list[Any] = []
    with pytest.raises(ollama.ResponseError) as client_error:
        for part in ollama_client.chat(model="flaky", messages=MESSAGES, stream=True):
            seen.append(part.model_dump())
    reader, answer = ShapeReader(), Accumulator()
    with pytest.raises(StreamError) as raised:
        for item in [*seen, {"error": client_error.value.error}]:
            chunk = reader.read(item)
            if chunk is not None:
                answer.add(chunk)
    assert answer.text and "This answer breaks off right here.".startswith(answer.text)
    assert str(raised.value).startswith("Ollama reported an error mid-answer (")
    assert client_error.value.error.rstrip(".")[:40] in str(raised.value)


# --- LangChain ------------------------------------------------------------------------


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_langchain_chunks_from_chat_openai(server: ScriptedServer, as_dicts: bool) -> None:
    """Real ``AIMessageChunk``s: langchain-openai's ChatOpenAI against the scripted server."""
    server.play(_chat_script())
    model = ChatOpenAI(
        model="m", base_url=server.url + "/v1", api_key="sk-test", max_retries=0, stream_usage=True
    )
    chunks = list(model.stream("hi"))
    assert all(type(chunk) is AIMessageChunk for chunk in chunks)
    answer = fold(dumped(chunks) if as_dicts else chunks)
    assert answer.text == "Hello wörld"
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(prompt_tokens=7, completion_tokens=4)
    assert answer.model == "m"


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_langchain_content_parts_and_usage_in_shares(as_dicts: bool) -> None:
    """Chunks shaped as langchain-anthropic streams them, built with langchain-core's class."""
    chunks = [
        AIMessageChunk(
            content=[],
            usage_metadata={"input_tokens": 12, "output_tokens": 1, "total_tokens": 13},
            response_metadata={"model_name": "claude-test-1"},
        ),
        AIMessageChunk(content=[{"type": "thinking", "thinking": "Let me ", "index": 0}]),
        AIMessageChunk(content=[{"type": "thinking", "thinking": "think.", "index": 0}]),
        AIMessageChunk(content=[{"type": "reasoning", "reasoning": " More."}]),
        AIMessageChunk(
            content=[{"type": "reasoning", "summary": [{"type": "summary_text", "text": " Sum."}]}]
        ),
        AIMessageChunk(content=[{"type": "text", "text": "Hel", "index": 1}]),
        AIMessageChunk(content=["lo ", {"type": "image", "url": "x"}]),
        AIMessageChunk(content="wörld", additional_kwargs={"reasoning_content": " Done."}),
        AIMessageChunk(
            content="",
            usage_metadata={"input_tokens": 0, "output_tokens": 29, "total_tokens": 29},
            response_metadata={"stop_reason": "end_turn"},
        ),
    ]
    answer = fold(dumped(chunks) if as_dicts else chunks)
    assert answer.text == "Hello wörld"
    assert answer.reasoning == "Let me think. More. Sum. Done."
    assert answer.usage == Usage(prompt_tokens=12, completion_tokens=30)
    assert answer.finish_reason == "stop"
    assert answer.model == "claude-test-1"


# --- llama-cpp-python -----------------------------------------------------------------


@pytest.fixture(scope="module")
def llama(tiny_chat_model: Any) -> Iterator[Any]:
    from llama_cpp import Llama

    # verbose=True as nbstream loads models: verbose=False leaves /dev/null open.
    model = Llama(model_path=str(tiny_chat_model), n_ctx=256, seed=1, verbose=True)
    yield model
    model.close()


def test_llama_cpp_completion_chunks(llama: Any) -> None:
    args = {"prompt": "Once upon", "max_tokens": 12, "temperature": 0.0}
    whole = llama.create_completion(**args)
    chunks = list(llama.create_completion(**args, stream=True))
    assert chunks[0]["object"] == "text_completion"
    answer = fold(chunks)
    assert answer.text == whole["choices"][0]["text"]
    assert answer.finish_reason == whole["choices"][0]["finish_reason"]
    assert answer.model == whole["model"]


def test_llama_cpp_chat_completion_chunks(llama: Any) -> None:
    args = {"messages": MESSAGES, "max_tokens": 12, "temperature": 0.0}
    whole = llama.create_chat_completion(**args)
    chunks = list(llama.create_chat_completion(**args, stream=True))
    assert chunks[0]["object"] == "chat.completion.chunk"
    answer = fold(chunks)
    assert answer.text == whole["choices"][0]["message"]["content"]
    assert answer.finish_reason == whole["choices"][0]["finish_reason"]


# --- edge cases -----------------------------------------------------------------------


def test_openai_edge_cases() -> None:
    reader = ShapeReader()
    assert reader.read({"choices": [{"delta": {"role": "assistant"}}], "model": "m"}) == Chunk(
        model="m"
    )
    assert reader.read({"choices": [{"delta": {"content": None}}], "model": "m"}) is None
    assert reader.read({"choices": [], "model": "m"}) is None  # empty choices, nothing else
    usage_only = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": None}}
    assert reader.read(usage_only) == Chunk(usage=Usage(prompt_tokens=3))
    assert reader.read({"choices": [{"delta": {"content": 5, "reasoning": "r"}}]}) == Chunk(
        reasoning="r"
    )
    assert reader.read({"choices": [{"delta": {"refusal": "No."}}]}) == Chunk(text="No.")
    assert reader.read({"choices": [{"text": "raw", "finish_reason": "length"}]}) == Chunk(
        text="raw", finish_reason="length"
    )
    mistral = {"choices": [{"delta": {"content": [{"type": "thinking", "thinking": [
        {"type": "text", "text": "hm"}]}, {"type": "text", "text": "ok"}]}}]}  # fmt: skip
    assert reader.read(mistral) == Chunk(text="ok", reasoning="hm")


def test_an_error_chunk_in_an_openai_dict_stream() -> None:
    reader = ShapeReader()
    assert reader.read({"choices": [{"delta": {"content": "a"}}]}) == Chunk(text="a")
    with pytest.raises(StreamError, match=r"\(rate_limit: Slow down\)"):
        reader.read({"error": {"message": "Slow down.", "code": "rate_limit"}})


def test_the_shape_is_recognised_anew_when_a_stream_changes_shape() -> None:
    reader = ShapeReader()
    assert reader.read({"choices": [{"delta": {"content": "a"}}]}) == Chunk(text="a")
    assert reader.read("b") == Chunk(text="b")
    assert reader.read({"message": {"content": "c"}, "done": False}) == Chunk(text="c")
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "d"}}
    assert reader.read(delta) == Chunk(text="d")
    assert reader.read({"choices": [{"delta": {"content": "e"}}]}) == Chunk(text="e")


def test_anthropic_edge_cases() -> None:
    reader = ShapeReader()
    assert reader.read({"type": "ping"}) is None
    assert reader.read({"type": "message_start", "message": {"usage": {}}}) is None
    assert reader.read({"type": "message_delta", "delta": {}, "usage": {}}) is None
    assert reader.read(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens"},
            "usage": {"output_tokens": 9, "input_tokens": 4},
        }
    ) == Chunk(finish_reason="length", usage=Usage(prompt_tokens=4, completion_tokens=9))
    assert reader.read(
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}}
    ) == Chunk(finish_reason="tool_use", usage=Usage(prompt_tokens=4))  # kept from before
    assert (
        reader.read({"type": "content_block_delta", "delta": {"type": "input_json_delta"}}) is None
    )
    assert reader.read({"type": "message_stop"}) is None


def test_responses_edge_cases() -> None:
    reader = ShapeReader()
    assert reader.read({"type": "response.output_text.delta", "delta": ""}) is None
    assert reader.read({"type": "response.output_text.done", "text": "all"}) is None
    assert reader.read({"type": "response.some_future_event"}) is None
    incomplete = {
        "type": "response.incomplete",
        "response": {"incomplete_details": {"reason": "max_output_tokens"}, "usage": None},
    }
    assert reader.read(incomplete) == Chunk(finish_reason="length")
    with pytest.raises(StreamError, match=r"\(no message\)"):
        reader.read({"type": "error"})


def test_ollama_edge_cases() -> None:
    reader = ShapeReader()
    assert reader.read({"model": "x", "message": {"content": None}, "done": False}) == Chunk(
        model="x"
    )
    assert reader.read({"model": "x", "message": {"content": ""}, "done": False}) is None
    thinking = {"model": "x", "message": {"content": "", "thinking": "hm"}, "done": False}
    assert reader.read(thinking) == Chunk(reasoning="hm")  # the model said already
    assert reader.read({"model": "x", "response": "", "thinking": "ah", "done": False}) == Chunk(
        reasoning="ah"
    )
    done = {"model": "x", "response": "", "done": True, "eval_count": 3}
    assert reader.read(done) == Chunk(finish_reason="stop", usage=Usage(completion_tokens=3))


@pytest.mark.parametrize(
    ("item", "named"),
    [
        (3, "int"),
        (None, "NoneType"),
        (object(), "object"),
        ({"foo": 1, "bar": 2}, "dict (keys 'foo', 'bar')"),
        ({}, "dict (keys none)"),
        ({"type": "mystery"}, "dict (keys 'type')"),
        ({"choices": None}, "dict (keys 'choices')"),
    ],
)
def test_an_unknown_chunk_is_one_sentence_naming_its_type_and_the_shapes(
    item: object, named: str
) -> None:
    with pytest.raises(UnknownChunkError) as raised:
        ShapeReader().read(item)
    assert str(raised.value) == f"show() cannot read a chunk of type {named}; it accepts {SHAPES}."
    assert isinstance(raised.value, TypeError)


@pytest.mark.parametrize("item", [b"hi", bytearray(b"hi")])
def test_bytes_chunks_get_their_own_sentence(item: object) -> None:
    with pytest.raises(UnknownChunkError) as raised:
        ShapeReader().read(item)
    assert str(raised.value) == (
        f"show() got a {type(item).__name__} chunk; decode the stream to text first "
        "(for example `(b.decode() for b in stream)`) and pass str chunks."
    )


def test_an_unknown_item_after_a_known_shape() -> None:
    reader = ShapeReader()
    reader.read({"choices": [{"delta": {"content": "a"}}]})
    with pytest.raises(UnknownChunkError, match="of type int;"):
        reader.read(7)
