"""SSE answers in the two *typed-event* formats: Anthropic Messages and OpenAI Responses.

Both APIs name each event twice, in the SSE ``event:`` line and in the JSON's ``type``,
and neither sends ``[DONE]``. These build the bytes a server sends for one answer, to be
played by :class:`~tests.servers.scripted.ScriptedServer` to the official ``anthropic``
and ``openai`` clients (one event per HTTP chunk, compact JSON with raw UTF-8).

Where the details come from:

* Anthropic — "Streaming Messages" (platform.claude.com/docs/en/build-with-claude/streaming):
  the flow ``message_start`` (a Message with empty ``content`` and ``usage.input_tokens``),
  per block ``content_block_start`` / ``content_block_delta`` (``text_delta``,
  ``thinking_delta``, ``signature_delta``) / ``content_block_stop``, ``message_delta``
  (``stop_reason``, cumulative ``usage``), ``message_stop``; ``ping`` events anywhere;
  ``event: error`` with ``{"type": "error", "error": {"type": "overloaded_error", …}}``.
* Responses — "Streaming API responses" and the streaming events reference
  (developers.openai.com/api/reference/resources/responses/streaming-events): every event
  has ``type`` and ``sequence_number``; ``response.created`` / ``response.in_progress``
  carry the Response; items and content parts are announced (``.added``) and closed
  (``.done``, repeating the whole text); ``response.completed`` carries ``usage``
  (``input_tokens``, ``output_tokens``, their details, ``total_tokens``); a failure is
  ``response.failed`` (the Response with ``error``) or an ``error`` event (``code``,
  ``message``, ``param``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .scripted import Script

SSE_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
)


def event(name: str, data: dict[str, Any]) -> bytes:
    """One named SSE event: ``event:`` line, ``data:`` line, blank line."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {body}\n\n".encode()


# --- Anthropic Messages --------------------------------------------------------------


def anthropic_answer(
    text: Sequence[str],
    thinking: Sequence[str] = (),
    *,
    model: str = "claude-test-1",
    input_tokens: int = 12,
    output_tokens: int = 30,
    stop_reason: str = "end_turn",
    error_after: int | None = None,
) -> Script:
    """A whole answer: an optional thinking block, then a text block of ``text`` pieces.

    ``error_after=N`` sends an ``overloaded_error`` event after N text deltas and ends.
    """
    pieces = [
        event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_01TestTestTestTestTestTest",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": 1,
                    },
                },
            },
        )
    ]
    index = 0
    if thinking:
        pieces.append(_block_start(index, {"type": "thinking", "thinking": "", "signature": ""}))
        pieces.append(event("ping", {"type": "ping"}))
        for piece in thinking:
            pieces.append(_block_delta(index, {"type": "thinking_delta", "thinking": piece}))
        pieces.append(_block_delta(index, {"type": "signature_delta", "signature": "EqQBCgIYAh"}))
        pieces.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    pieces.append(_block_start(index, {"type": "text", "text": ""}))
    for number, piece in enumerate(text):
        if error_after is not None and number == error_after:
            pieces.append(
                event(
                    "error",
                    {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "Overloaded"},
                    },
                )
            )
            return Script(headers=SSE_HEADERS, body=pieces)
        pieces.append(_block_delta(index, {"type": "text_delta", "text": piece}))
    pieces.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    pieces.append(
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    pieces.append(event("message_stop", {"type": "message_stop"}))
    return Script(headers=SSE_HEADERS, body=pieces)


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


# --- OpenAI Responses ----------------------------------------------------------------


class _Sequence:
    def __init__(self) -> None:
        self.number = -1

    def __call__(self, kind: str, **fields: Any) -> bytes:
        self.number += 1
        return event(kind, {"type": kind, "sequence_number": self.number, **fields})


def _response(model: str, status: str, output: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_0123456789abcdef",
        "object": "response",
        "created_at": 1767225600,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
        **extra,
    }


def responses_answer(
    text: Sequence[str],
    summary: Sequence[str] = (),
    *,
    model: str = "gpt-test-1",
    input_tokens: int = 9,
    output_tokens: int = 21,
    fail: str | None = None,
) -> Script:
    """A whole answer: an optional reasoning item with a summary, then a message item.

    ``fail="event"`` ends after the first text delta with an ``error`` event,
    ``fail="failed"`` with ``response.failed``.
    """
    seq = _Sequence()
    pieces = [
        seq("response.created", response=_response(model, "in_progress", [])),
        seq("response.in_progress", response=_response(model, "in_progress", [])),
    ]
    output: list[Any] = []
    if summary:
        item_id = "rs_0123456789abcdef"
        reasoning = {"id": item_id, "type": "reasoning", "summary": []}
        pieces.append(seq("response.output_item.added", output_index=0, item=reasoning))
        for number, part in enumerate(summary):
            where = {"item_id": item_id, "output_index": 0, "summary_index": number}
            pieces.append(
                seq(
                    "response.reasoning_summary_part.added",
                    **where,
                    part={"type": "summary_text", "text": ""},
                )
            )
            for position, word in enumerate(part.split(" ")):
                delta = " " + word if position else word
                pieces.append(seq("response.reasoning_summary_text.delta", **where, delta=delta))
            pieces.append(seq("response.reasoning_summary_text.done", **where, text=part))
            pieces.append(
                seq(
                    "response.reasoning_summary_part.done",
                    **where,
                    part={"type": "summary_text", "text": part},
                )
            )
        reasoning["summary"] = [{"type": "summary_text", "text": s} for s in summary]
        pieces.append(seq("response.output_item.done", output_index=0, item=reasoning))
        output.append(reasoning)
    index = len(output)
    message_id = "msg_0123456789abcdef"
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    pieces.append(seq("response.output_item.added", output_index=index, item=message))
    pieces.append(
        seq(
            "response.content_part.added",
            **where,
            part={"type": "output_text", "text": "", "annotations": []},
        )
    )
    for number, piece in enumerate(text):
        pieces.append(seq("response.output_text.delta", **where, delta=piece, logprobs=[]))
        if fail == "event" and number == 0:
            pieces.append(
                seq("error", code="server_error", message="The server had an error.", param=None)
            )
            return Script(headers=SSE_HEADERS, body=pieces)
        if fail == "failed" and number == 0:
            error = {"code": "server_error", "message": "The model failed mid-answer."}
            failed = _response(model, "failed", output, error=error)
            pieces.append(seq("response.failed", response=failed))
            return Script(headers=SSE_HEADERS, body=pieces)
    whole = "".join(text)
    part = {"type": "output_text", "text": whole, "annotations": []}
    pieces.append(seq("response.output_text.done", **where, text=whole, logprobs=[]))
    pieces.append(seq("response.content_part.done", **where, part=part))
    message = {**message, "status": "completed", "content": [part]}
    pieces.append(seq("response.output_item.done", output_index=index, item=message))
    output.append(message)
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
    pieces.append(
        seq("response.completed", response=_response(model, "completed", output, usage=usage))
    )
    return Script(headers=SSE_HEADERS, body=pieces)


__all__ = ["SSE_HEADERS", "anthropic_answer", "event", "responses_answer"]
