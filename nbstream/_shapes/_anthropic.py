"""Anthropic Messages stream events, from ``messages.create(stream=True)`` or ``.stream()``.

The raw events: ``message_start`` (the model and ``usage.input_tokens``),
``content_block_delta`` with a ``text_delta`` or ``thinking_delta``, ``message_delta``
(``stop_reason`` and the cumulative ``usage.output_tokens``), ``message_stop``,
``ping``, and ``error``. The ``messages.stream()`` helper yields each raw event and, right
after a text or thinking delta, a ``text`` or ``thinking`` event repeating it: those are
read only in a stream that never carried a raw delta (one filtered down to them), so
nothing is counted twice.
"""

from __future__ import annotations

from typing import Any, Final

from .._types import Chunk, Usage
from ._errors import raise_stream_error
from ._fields import OTHER, State, as_count, as_opt_str, as_str, field, text_chunk

EVENTS: Final = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        # messages.stream()'s convenience events
        "text",
        "thinking",
        "citation",
        "signature",
        "input_json",
    }
)
# Why the model stopped, in the words finish_reason uses elsewhere; others pass as they are.
_STOP_REASONS: Final = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def read_anthropic(item: Any, state: State) -> Any:
    """An Anthropic stream event, object or dict."""
    kind = field(item, "type")
    if kind == "content_block_delta":
        state.raw_deltas = True
        delta = field(item, "delta")
        delta_kind = field(delta, "type")
        if delta_kind == "text_delta":
            text = as_str(field(delta, "text"))
            return text_chunk(text) if text else None
        if delta_kind == "thinking_delta":
            thinking = as_str(field(delta, "thinking"))
            return Chunk(reasoning=thinking) if thinking else None
        return None  # tool input, citations, signatures
    if kind == "text":
        text = as_str(field(item, "text"))
        return Chunk(text=text) if text and not state.raw_deltas else None
    if kind == "thinking":
        thinking = as_str(field(item, "thinking"))
        return Chunk(reasoning=thinking) if thinking and not state.raw_deltas else None
    if kind == "message_start":
        message = field(item, "message")
        state.prompt_tokens = as_count(field(field(message, "usage"), "input_tokens"))
        usage = None if state.prompt_tokens is None else Usage(prompt_tokens=state.prompt_tokens)
        model = state.new_model(field(message, "model"))
        return Chunk(model=model, usage=usage) if model or usage else None
    if kind == "message_delta":
        return _message_delta(item, state)
    if kind == "error":
        raise_stream_error(item, "The Anthropic stream")
    return None if kind in EVENTS else OTHER


def _message_delta(item: Any, state: State) -> Chunk | None:
    reason = as_opt_str(field(field(item, "delta"), "stop_reason"))
    usage = field(item, "usage")
    # Counts here are cumulative; newer servers repeat input_tokens, older ones do not.
    prompt = as_count(field(usage, "input_tokens"))
    if prompt is not None:
        state.prompt_tokens = prompt
    completion = as_count(field(usage, "output_tokens"))
    if reason is None and completion is None:
        return None
    return Chunk(
        finish_reason=_STOP_REASONS.get(reason, reason) if reason else None,
        usage=Usage(prompt_tokens=state.prompt_tokens, completion_tokens=completion),
    )
