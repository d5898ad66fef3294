"""Tests for the incremental decoders: recorded streams split every way, each WHATWG rule,
and property tests against a plain reference parser written straight from the spec."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._decoders import (
    LineDecoder,
    NDJSONDecoder,
    ServerSentEvent,
    SSEDecoder,
    UTF8Decoder,
)
from nbstream._exceptions import MalformedStreamError

from .fuzzing import fuzz

FIXTURES = Path(__file__).parent / "fixtures"
PROPERTY = settings(max_examples=200, derandomize=True, deadline=None)


class Decoder(Protocol):
    def decode(self, data: bytes) -> Sequence[Any]: ...
    def flush(self) -> Sequence[Any]: ...


def feed(decoder: Decoder, pieces: Sequence[bytes]) -> list[Any]:
    out: list[Any] = []
    for piece in pieces:
        out.extend(decoder.decode(piece))
    out.extend(decoder.flush())
    return out


def sse(*pieces: bytes) -> list[ServerSentEvent]:
    return feed(SSEDecoder(), pieces)


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


FIXTURE_DECODERS: dict[str, Callable[[], Decoder]] = {
    "openai_chat_stream.sse": SSEDecoder,
    "openai_chat_stream_crlf.sse": SSEDecoder,
    "llamacpp_server_stream.sse": SSEDecoder,
    "sse_edge_cases.sse": SSEDecoder,
    "ollama_chat.ndjson": NDJSONDecoder,
    "ollama_generate_no_final_newline.ndjson": NDJSONDecoder,
    "ollama_generate_error.ndjson": NDJSONDecoder,
    "ollama_python_chat_stream.ndjson": NDJSONDecoder,
}


def test_every_fixture_has_a_decoder() -> None:
    names = sorted(p.name for p in FIXTURES.iterdir() if p.name != "README.md")
    assert names == sorted(FIXTURE_DECODERS)


# -- recorded streams: every split gives the same result ------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURE_DECODERS))
def test_fixture_split_at_every_byte_equals_whole(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    make = FIXTURE_DECODERS[name]
    whole = feed(make(), [data])
    assert len(whole) >= 2
    for i in range(len(data) + 1):
        assert feed(make(), [data[:i], data[i:]]) == whole, f"split at byte {i}"


@pytest.mark.parametrize("name", sorted(FIXTURE_DECODERS))
def test_fixture_byte_by_byte_equals_whole(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    make = FIXTURE_DECODERS[name]
    pieces = [data[i : i + 1] for i in range(len(data))]
    assert feed(make(), pieces) == feed(make(), [data])


OPENAI_TEXT = (
    "Hello, 世界！ 👋 Here is a naïve café line\u2028next para\u2029graph and NEL\u0085 🇯🇵."
)


@pytest.mark.parametrize("name", ["openai_chat_stream.sse", "openai_chat_stream_crlf.sse"])
def test_openai_fixture_content(name: str) -> None:
    events = sse((FIXTURES / name).read_bytes())
    assert {e.event for e in events} == {"message"}
    assert events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == OPENAI_TEXT
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 17


def test_crlf_fixture_gives_the_same_events_as_lf() -> None:
    lf = sse((FIXTURES / "openai_chat_stream.sse").read_bytes())
    crlf = sse((FIXTURES / "openai_chat_stream_crlf.sse").read_bytes())
    assert crlf == lf


def test_llamacpp_fixture_ping_comments_are_not_events() -> None:
    data = (FIXTURES / "llamacpp_server_stream.sse").read_bytes()
    assert data.count(b": ping") == 2
    events = sse(data)
    assert len(events) == 13  # role-only + 10 deltas + finish + [DONE]
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "The capital of France is Paris (巴黎) 🗼"
    assert events[-1] == ServerSentEvent(data="[DONE]")


def test_ollama_chat_fixture_content_and_metrics() -> None:
    # Ollama's docs/api.md, "Chat request (Streaming)" (see fixtures/README.md).
    values = feed(NDJSONDecoder(), [(FIXTURES / "ollama_chat.ndjson").read_bytes()])
    assert [v["message"]["content"] for v in values] == ["The", ""]
    assert [v["done"] for v in values] == [False, True]
    last = values[-1]
    assert (last["prompt_eval_count"], last["eval_count"], last["eval_duration"]) == (
        26,
        282,
        4535599000,
    )


def test_ollama_final_line_without_newline_is_parsed_at_flush() -> None:
    decoder = NDJSONDecoder()
    data = (FIXTURES / "ollama_generate_no_final_newline.ndjson").read_bytes()
    assert not data.endswith(b"\n")
    before = decoder.decode(data)
    assert [v["done"] for v in before] == [False] * 6
    assert "".join(v["response"] for v in before) == "That's a fantastic question"
    (last,) = decoder.flush()
    assert (last["response"], last["done"], last["done_reason"]) == ("!", True, "stop")


def test_ollama_error_fixture_ends_with_an_error_line() -> None:
    values = feed(NDJSONDecoder(), [(FIXTURES / "ollama_generate_error.ndjson").read_bytes()])
    assert "".join(v.get("response", "") for v in values) == " Yes.Ican"
    assert values[-1] == {"error": "an error was encountered while running the model"}


def test_edge_case_fixture_events() -> None:
    events = sse((FIXTURES / "sse_edge_cases.sse").read_bytes())
    error = '{"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "requests"}}'
    assert events == [
        ServerSentEvent("message", "first", "1", 3000),
        ServerSentEvent("progress", " two spaces\nthird line", "1", None),
        ServerSentEvent("message", "", "", None),
        ServerSentEvent("error", error, "7", None),
        ServerSentEvent("message", "after ignored id", "7", None),
    ]


# -- SSE rules, one at a time ---------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\r\n", b"\r", b"\n"])
def test_sse_line_endings(eol: bytes) -> None:
    stream = b"event: a" + eol + b"data: x" + eol + b"data: y" + eol + eol + b"data: z" + eol + eol
    assert sse(stream) == [ServerSentEvent("a", "x\ny"), ServerSentEvent("message", "z")]


def test_sse_cr_ending_one_chunk_and_lf_starting_the_next_is_one_line_break() -> None:
    # Were the \n a line of its own, "a" would be dispatched alone as an event.
    assert sse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [ServerSentEvent(data="a\nb")]


def test_sse_cr_then_cr_is_two_line_breaks() -> None:
    assert sse(b"data: a\r", b"\rdata: b\r\r") == [
        ServerSentEvent(data="a"),
        ServerSentEvent(data="b"),
    ]


def test_sse_cr_state_survives_an_empty_feed() -> None:
    assert sse(b"data: a\r", b"", b"\ndata: b\n\n") == [ServerSentEvent(data="a\nb")]


def test_sse_one_leading_bom_is_stripped() -> None:
    assert sse(b"\xef\xbb\xbfdata: x\n\n") == [ServerSentEvent(data="x")]


def test_sse_bom_split_across_feeds_is_stripped() -> None:
    assert sse(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [ServerSentEvent(data="x")]


def test_sse_only_one_bom_is_stripped() -> None:
    # The second BOM becomes part of the field name, which is then unknown.
    assert sse(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [ServerSentEvent(data="y")]


def test_sse_bom_after_stream_start_is_not_stripped() -> None:
    assert sse(b": hi\n\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [ServerSentEvent(data="y")]
    assert sse(b"data: a\n\n", b"\xef\xbb\xbfdata: x\n\n") == [ServerSentEvent(data="a")]


def test_sse_comments_are_ignored() -> None:
    assert sse(b": ping\n:\n:data: no\ndata: yes\n: between\n\n") == [ServerSentEvent(data="yes")]


def test_sse_comment_only_block_dispatches_nothing() -> None:
    assert sse(b": ping - 2026-11-03 10:13:24\n\n" * 3) == []


def test_sse_data_lines_are_joined_with_newlines() -> None:
    assert sse(b"data: a\ndata:\ndata: c\n\n") == [ServerSentEvent(data="a\n\nc")]


def test_sse_only_one_leading_space_is_removed() -> None:
    assert sse(b"data:  two\ndata:none\ndata:\tkept\ndata: trail \n\n") == [
        ServerSentEvent(data=" two\nnone\n\tkept\ntrail ")
    ]


def test_sse_value_keeps_later_colons() -> None:
    assert sse(b'data: {"a": "b:c"}\n\n') == [ServerSentEvent(data='{"a": "b:c"}')]


def test_sse_field_without_colon_has_an_empty_value() -> None:
    assert sse(b"data\n\n") == [ServerSentEvent(data="")]
    assert sse(b"data\ndata\n\n") == [ServerSentEvent(data="\n")]
    assert sse(b"event: x\nevent\ndata: d\n\n") == [ServerSentEvent("message", "d")]


def test_sse_event_sets_the_type_and_empty_means_message() -> None:
    assert sse(b"event: delta\ndata: 1\n\nevent:\ndata: 2\n\ndata: 3\n\n") == [
        ServerSentEvent("delta", "1"),
        ServerSentEvent("message", "2"),
        ServerSentEvent("message", "3"),
    ]


def test_sse_event_type_resets_after_each_event() -> None:
    events = sse(b"event: error\ndata: 1\n\ndata: 2\n\n")
    assert [e.event for e in events] == ["error", "message"]


def test_sse_event_type_resets_even_when_nothing_is_dispatched() -> None:
    assert sse(b"event: error\n\ndata: 2\n\n") == [ServerSentEvent("message", "2")]


def test_sse_field_names_are_case_sensitive() -> None:
    assert sse(b"Data: x\nDATA: y\n\n") == []


def test_sse_id_persists_across_events() -> None:
    assert sse(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n") == [
        ServerSentEvent(data="a", id="7"),
        ServerSentEvent(data="b", id="7"),
        ServerSentEvent(data="c", id="8"),
    ]


def test_sse_id_set_in_an_undispatched_block_still_counts() -> None:
    assert sse(b"id: 5\n\ndata: a\n\n") == [ServerSentEvent(data="a", id="5")]


def test_sse_id_with_nul_is_ignored() -> None:
    assert sse(b"id: 1\n\nid: a\x00b\ndata: x\n\n") == [ServerSentEvent(data="x", id="1")]


def test_sse_empty_id_resets_last_event_id() -> None:
    assert sse(b"id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n") == [
        ServerSentEvent(data="a", id="1"),
        ServerSentEvent(data="b", id=""),
        ServerSentEvent(data="c", id=""),
    ]


def test_sse_no_id_field_means_none() -> None:
    assert sse(b"data: a\n\n")[0].id is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"3000", 3000),
        (b"0", 0),
        (b"  15", None),  # after one space is removed, " 15" is not only digits
        (b"12a", None),
        (b"-1", None),
        (b"1.5", None),
        (b"", None),
        ("１２".encode(), None),  # full-width digits are digits, but not ASCII digits
        ("²".encode(), None),
    ],
)
def test_sse_retry_accepts_only_ascii_digits(value: bytes, expected: int | None) -> None:
    assert sse(b"retry: " + value + b"\ndata: x\n\n") == [ServerSentEvent(data="x", retry=expected)]


def test_sse_retry_belongs_to_its_own_event() -> None:
    events = sse(b"retry: 10\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [10, None]


def test_sse_event_without_data_is_not_dispatched() -> None:
    assert sse(b"event: ping\n\nid: 3\n\nretry: 5\n\n\n\n") == []


def test_sse_empty_data_field_dispatches_an_empty_event() -> None:
    # WHATWG: "data:" appends "" and a newline, so the buffer is not empty and dispatches.
    assert sse(b"data:\n\ndata: \n\n") == [ServerSentEvent(data=""), ServerSentEvent(data="")]


def test_sse_event_fields_read_a_named_field_as_a_whole_event() -> None:
    # llama.cpp's server wrote `error: {json}` where the standard has event: + data:.
    stream = b'data: {"a": 1}\n\nerror: {"code": 400}\n\ndata: [DONE]\n\n'
    assert feed(SSEDecoder(event_fields=("error",)), [stream]) == [
        ServerSentEvent(data='{"a": 1}'),
        ServerSentEvent(event="error", data='{"code": 400}'),
        ServerSentEvent(data="[DONE]"),
    ]
    assert sse(stream) == [ServerSentEvent(data='{"a": 1}'), ServerSentEvent(data="[DONE]")]


def test_sse_unterminated_last_event_is_discarded() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"data: a\n\ndata: b\n") == [ServerSentEvent(data="a")]
    assert decoder.flush() == []
    assert sse(b"data: a\n\ndata: b") == [ServerSentEvent(data="a")]


def test_sse_decoder_can_be_reused_after_flush() -> None:
    decoder = SSEDecoder()
    decoder.decode(b"event: x\ndata: dropped\n")
    decoder.flush()
    assert decoder.decode(b"\xef\xbb\xbfdata: again\n\n") == [ServerSentEvent(data="again")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_sse_json_with_unicode_line_separators_stays_one_line(separator: str) -> None:
    payload = json.dumps({"delta": {"content": f"a{separator}b"}}, ensure_ascii=False)
    assert len(payload.splitlines()) == 2  # what str.splitlines / httpx iter_lines would do
    events = sse(f"data: {payload}\n\n".encode())
    assert len(events) == 1
    assert json.loads(events[0].data)["delta"]["content"] == f"a{separator}b"


def test_sse_utf8_character_split_across_feeds_comes_out_whole() -> None:
    data = "data: 世界 👋\n\n".encode()
    start = data.index("👋".encode())
    events = sse(data[: start + 1], data[start + 1 : start + 3], data[start + 3 :])
    assert events == [ServerSentEvent(data="世界 👋")]


def test_sse_invalid_bytes_become_replacement_characters() -> None:
    assert sse(b"data: a\xffb\xe4\xb8\n\n") == [ServerSentEvent(data="a\ufffdb\ufffd")]


def test_sse_invalid_byte_before_line_end_does_not_swallow_the_line_end() -> None:
    assert sse(b"data: a\xe4\r\n\r\ndata: b\n\n") == [
        ServerSentEvent(data="a\ufffd"),
        ServerSentEvent(data="b"),
    ]


# -- LineDecoder ------------------------------------------------------------------------


def test_lines_keep_empty_lines_and_return_the_unterminated_tail_at_flush() -> None:
    decoder = LineDecoder()
    assert decoder.decode(b"a\n\nb\r\n\r\rc") == ["a", "", "b", "", ""]
    assert decoder.decode(b"d") == []
    assert decoder.flush() == ["cd"]
    assert decoder.flush() == []


def test_lines_split_only_on_cr_and_lf() -> None:
    text = "a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg\x1dh\x1ei"
    assert feed(LineDecoder(), [f"{text}\n".encode()]) == [text]


def test_lines_cr_inside_a_feed_does_not_pair_with_lf_starting_the_next() -> None:
    decoder = LineDecoder()
    assert decoder.decode(b"a\rb") == ["a"]
    assert decoder.decode(b"\n\n") == ["b", ""]
    assert sse(b"data: a\r: note", b"\nid\n\n") == [ServerSentEvent(data="a", id="")]


def test_lines_flush_forgets_a_pending_cr() -> None:
    decoder = LineDecoder()
    assert decoder.decode(b"a\r") == ["a"]
    assert decoder.flush() == []
    assert decoder.decode(b"\nb\n") == ["", "b"]


def test_lines_longer_than_the_limit_raise_when_fed_in_pieces() -> None:
    decoder = LineDecoder(max_line_bytes=10)
    assert decoder.decode(b"0123456789\n") == ["0123456789"]
    decoder.decode(b"01234")
    with pytest.raises(MalformedStreamError) as info:
        decoder.decode(b"567890")
    message = str(info.value)
    assert "10 bytes" in message
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message


def test_lines_longer_than_the_limit_raise_when_fed_whole() -> None:
    with pytest.raises(MalformedStreamError):
        LineDecoder(max_line_bytes=10).decode(b"short\n01234567890\nshort\n")
    with pytest.raises(MalformedStreamError):
        LineDecoder(max_line_bytes=10).decode(b"short\n01234567890")


def test_lines_at_the_limit_are_fine_and_line_ends_do_not_count() -> None:
    decoder = LineDecoder(max_line_bytes=3)
    assert decoder.decode(b"abc\r\nabc\rab") == ["abc", "abc"]
    assert decoder.decode(b"c\r") == ["abc"]
    assert decoder.decode(b"\nabc") == []
    assert decoder.flush() == ["abc"]


def test_sse_and_ndjson_pass_the_line_limit_through() -> None:
    with pytest.raises(MalformedStreamError):
        SSEDecoder(max_line_bytes=100).decode(b"data: " + b"x" * 200)
    with pytest.raises(MalformedStreamError):
        NDJSONDecoder(max_line_bytes=100).decode(b'{"a": "' + b"x" * 200)


# -- NDJSON -----------------------------------------------------------------------------


def test_ndjson_skips_blank_lines() -> None:
    assert feed(NDJSONDecoder(), [b'\n{"a": 1}\r\n\n  \t\n[2]\n\r\n3']) == [{"a": 1}, [2], 3]


def test_ndjson_bad_line_names_its_start() -> None:
    bad = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 200
    decoder = NDJSONDecoder()
    assert decoder.decode(f'{{"ok": true}}\n{bad}\n'.encode()) == [{"ok": True}]
    with pytest.raises(MalformedStreamError) as info:
        decoder.flush()
    message = str(info.value)
    assert bad[:80] in message
    assert bad[:81] not in message
    assert "\n" not in message


def test_ndjson_bad_unterminated_last_line_raises_at_flush() -> None:
    decoder = NDJSONDecoder()
    assert decoder.decode(b'{"a": 1}\n{"a": ') == [{"a": 1}]
    with pytest.raises(MalformedStreamError):
        decoder.flush()


def test_ndjson_absurd_nesting_is_a_malformed_stream() -> None:
    with pytest.raises(MalformedStreamError):
        feed(NDJSONDecoder(), [b"[" * 200_000 + b"]" * 200_000 + b"\n"])


def test_ndjson_u2028_inside_json_stays_one_line() -> None:
    line = json.dumps({"response": "a\u2028b\u0085c"}, ensure_ascii=False).encode()
    assert feed(NDJSONDecoder(), [line + b"\n" + line]) == [{"response": "a\u2028b\u0085c"}] * 2


def test_ndjson_leading_bom_is_stripped() -> None:
    assert feed(NDJSONDecoder(), [b"\xef\xbb\xbf", b'{"a": 1}']) == [{"a": 1}]


def test_ndjson_invalid_utf8_inside_a_string_becomes_replacement_character() -> None:
    assert feed(NDJSONDecoder(), [b'{"a": "x\xff\xfey"}\n']) == [{"a": "x\ufffd\ufffdy"}]


# -- UTF8Decoder ------------------------------------------------------------------------


def test_utf8_character_split_across_feeds() -> None:
    decoder = UTF8Decoder()
    emoji = "🇯🇵".encode()
    assert [decoder.decode(emoji[i : i + 1]) for i in range(len(emoji))] == [
        "",
        "",
        "",
        "🇯",
        "",
        "",
        "",
        "🇵",
    ]
    assert decoder.flush() == ""


def test_utf8_incomplete_tail_becomes_replacement_character_at_flush() -> None:
    decoder = UTF8Decoder()
    assert decoder.decode(b"ok \xf0\x9f") == "ok "
    assert decoder.flush() == "\ufffd"


def test_utf8_invalid_bytes_do_not_stall_what_follows() -> None:
    decoder = UTF8Decoder()
    assert decoder.decode(b"\xff") == "\ufffd"
    assert decoder.decode(b"abc") == "abc"
    assert decoder.decode(b"\xe4\xb8x") == "\ufffdx"


# -- properties -------------------------------------------------------------------------


def reference_lines(data: bytes) -> tuple[list[str], str]:
    """Complete lines and the unterminated tail, the obvious (non-incremental) way."""
    parts = re.split(r"\r\n|\r|\n", data.decode("utf-8", "replace"))
    return parts[:-1], parts[-1]


def reference_sse(data: bytes) -> list[ServerSentEvent]:
    """The WHATWG event-stream interpretation, transcribed step by step."""
    text = data.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)[:-1]
    events: list[ServerSentEvent] = []
    event_type, buffer, last_id, retry = "", "", None, None
    for line in lines:
        if line == "":
            if buffer == "":
                event_type, retry = "", None
                continue
            if buffer.endswith("\n"):
                buffer = buffer[:-1]
            events.append(ServerSentEvent(event_type or "message", buffer, last_id, retry))
            event_type, buffer, retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            buffer += value + "\n"
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return events


# Bytes that exercise the parser: field names, separators, line ends, BOM, multibyte
# characters and their pieces, invalid bytes, NUL.
SSE_ATOMS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b"x",
    b":",
    b": ",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"7",
    b"\x00",
    b"\xef\xbb\xbf",
    "世".encode(),
    "👋".encode(),
    "\u2028".encode(),
    b"\xf0\x9f",
    b"\xff",
    b"{",
    b'"',
]
UNICODE = st.characters(blacklist_categories=["Cs"])  # every code point UTF-8 can encode
sse_bytes = st.lists(st.sampled_from(SSE_ATOMS), max_size=60).map(b"".join)


@st.composite
def with_cuts(draw: st.DrawFn, data_strategy: st.SearchStrategy[bytes]) -> tuple[bytes, list[int]]:
    data = draw(data_strategy)
    # Cuts right before or after a \r or \n are where line-end bugs hide.
    edges = sorted({i + d for i, b in enumerate(data) if b in b"\r\n" for d in (0, 1)})
    position = st.integers(0, len(data))
    if edges:
        position |= st.sampled_from(edges)
    return data, draw(st.lists(position, max_size=12))


@fuzz(PROPERTY)
@given(with_cuts(sse_bytes))
def test_property_sse_matches_reference_under_any_split(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    assert feed(SSEDecoder(), split_at(data, cuts)) == reference_sse(data)


@st.composite
def valid_sse_stream(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))
    out = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            out.append(f"event: {draw(text)}{eol}")
        if draw(st.booleans()):
            out.append(f": {draw(text)}{eol}")
        out.extend(f"data: {d}{eol}" for d in draw(st.lists(text, min_size=1, max_size=3)))
        out.append(eol)
    return "".join(out).encode()


@fuzz(PROPERTY)
@given(with_cuts(valid_sse_stream()))
def test_property_valid_sse_split_equals_whole(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    whole = feed(SSEDecoder(), [data])
    assert whole == reference_sse(data)
    assert len(whole) >= 1
    assert feed(SSEDecoder(), split_at(data, cuts)) == whole


@fuzz(PROPERTY)
@given(with_cuts(sse_bytes))
def test_property_lines_match_reference_under_any_split(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    decoder = LineDecoder()
    lines = [line for piece in split_at(data, cuts) for line in decoder.decode(piece)]
    complete, tail = reference_lines(data)
    assert lines == complete
    assert decoder.flush() == ([tail] if tail else [])


KEYS = st.text(UNICODE, max_size=5)
ndjson_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(UNICODE),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(UNICODE), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def ndjson_stream(draw: st.DrawFn) -> tuple[bytes, list[Any]]:
    values = draw(st.lists(ndjson_values, max_size=6))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [json.dumps(v, ensure_ascii=draw(st.booleans())) for v in values]
    body = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return body.encode(), values


@fuzz(PROPERTY)
@given(ndjson_stream(), st.lists(st.integers(0, 10_000), max_size=8))
def test_property_ndjson_split_equals_values(
    case: tuple[bytes, list[Any]], cuts: list[int]
) -> None:
    data, values = case
    cuts = [c % (len(data) + 1) for c in cuts]
    assert feed(NDJSONDecoder(), split_at(data, cuts)) == values


@fuzz(PROPERTY)
@given(with_cuts(st.binary(max_size=200)), st.integers(1, 64))
def test_property_arbitrary_bytes_raise_nothing_but_malformed_stream(
    case: tuple[bytes, list[int]], limit: int
) -> None:
    data, cuts = case
    for make in (SSEDecoder, NDJSONDecoder, LineDecoder):
        try:
            feed(make(max_line_bytes=limit), split_at(data, cuts))
        except MalformedStreamError as error:
            assert "\n" not in str(error)


@fuzz(PROPERTY)
@given(with_cuts(sse_bytes), st.integers(1, 16))
def test_property_line_limit_does_not_depend_on_splits(
    case: tuple[bytes, list[int]], limit: int
) -> None:
    def outcome(pieces: list[bytes]) -> list[str] | None:
        try:
            return feed(LineDecoder(max_line_bytes=limit), pieces)
        except MalformedStreamError:
            return None

    data, cuts = case
    assert outcome(split_at(data, cuts)) == outcome([data])


@fuzz(PROPERTY)
@given(st.text(UNICODE), st.data())
def test_property_utf8_random_splits_of_text_give_the_text(text: str, data: st.DataObject) -> None:
    raw = text.encode()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=8))
    decoder = UTF8Decoder()
    assert "".join(decoder.decode(p) for p in split_at(raw, cuts)) + decoder.flush() == text


@fuzz(PROPERTY)
@given(with_cuts(st.binary(max_size=100) | sse_bytes))
def test_property_utf8_invalid_bytes_match_whole_decode(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    decoder = UTF8Decoder()
    got = "".join(decoder.decode(p) for p in split_at(data, cuts)) + decoder.flush()
    assert got == data.decode("utf-8", "replace")


def test_ndjson_good_lines_before_a_bad_one_are_returned_first() -> None:
    decoder = NDJSONDecoder()
    assert decoder.decode(b'{"a": 1}\n{"b": 2}\nnot json\n{"c": 3}\n') == [{"a": 1}, {"b": 2}]
    with pytest.raises(MalformedStreamError, match="not json"):
        decoder.decode(b"")


def test_ndjson_pending_error_raised_by_flush() -> None:
    decoder = NDJSONDecoder()
    assert decoder.decode(b'{"a": 1}\n{oops\n') == [{"a": 1}]
    with pytest.raises(MalformedStreamError):
        decoder.flush()


@pytest.mark.parametrize("tail", [b"data: b", b"data: b\n", b"data: b\r"])
def test_sse_flush_with_dispatch_ends_the_last_event(tail: bytes) -> None:
    # What the OpenAI backend calls when the body ends: the stream is all there will be.
    decoder = SSEDecoder()
    assert decoder.decode(b"data: a\n\n" + tail) == [ServerSentEvent(data="a")]
    assert decoder.flush(dispatch=True) == [ServerSentEvent(data="b")]
    assert decoder.flush(dispatch=True) == []
    assert decoder.decode(b"data: c\n\n") == [ServerSentEvent(data="c")]


def test_ndjson_objects_only_and_the_callers_words_for_a_bad_line() -> None:
    # How the Ollama backend reads its stream: objects only, its own sentence for a bad
    # line, told whether good lines came before it.
    seen: list[tuple[str, bool]] = []

    def bad_line(line: str, after_good: bool) -> MalformedStreamError:
        seen.append((line, after_good))
        return MalformedStreamError(f"bad line {line}")

    with pytest.raises(MalformedStreamError, match=r"bad line \[1\]"):
        NDJSONDecoder(objects=True, bad_line=bad_line).decode(b"[1]\n")
    decoder = NDJSONDecoder(objects=True, bad_line=bad_line)
    assert decoder.decode(b'{"a": 1}\n"x"\n') == [{"a": 1}]
    with pytest.raises(MalformedStreamError, match='bad line "x"'):
        decoder.flush()
    assert seen == [("[1]", False), ('"x"', True)]
    with pytest.raises(MalformedStreamError, match="not a JSON object"):
        NDJSONDecoder(objects=True).decode(b"3\n")
