"""LangChain message chunks: what a chat model's ``.stream()`` yields (``AIMessageChunk``).

``content`` is a string or a list of typed parts (text, thinking, reasoning); some
integrations put reasoning in ``additional_kwargs["reasoning_content"]``. Usage is in
``usage_metadata`` (``input_tokens``/``output_tokens``) and, as LangChain adds chunks
together, each chunk's counts are its *share*: the totals are kept here. The finish
reason is in ``response_metadata`` under the provider's name for it (``finish_reason``,
``stop_reason``, ``done_reason``), and the model under ``model_name`` or ``model``.
"""

from __future__ import annotations

from typing import Any, Final

from .._types import Chunk, Usage
from ._fields import OTHER, State, as_count, as_opt_str, as_str, field, parts

TYPES: Final = frozenset({"AIMessageChunk", "ai"})
_STOP_REASONS: Final = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def read_langchain(item: Any, state: State) -> Any:
    """A LangChain ``AIMessageChunk`` (or ``AIMessage``), object or dict."""
    content = field(item, "content")
    if content is None or field(item, "type") not in TYPES:
        return OTHER
    text, reasoning = parts(content)
    reasoning += as_str(field(field(item, "additional_kwargs"), "reasoning_content"))
    usage = _usage(field(item, "usage_metadata"), state)
    metadata = field(item, "response_metadata")
    finish_reason = None
    model = None
    if metadata:
        reason = (
            as_opt_str(field(metadata, "finish_reason"))
            or as_opt_str(field(metadata, "stop_reason"))
            or as_opt_str(field(metadata, "done_reason"))
        )
        finish_reason = _STOP_REASONS.get(reason, reason) if reason else None
        model = state.new_model(field(metadata, "model_name") or field(metadata, "model"))
    if not (text or reasoning or finish_reason or usage or model):
        return None
    return Chunk(
        text=text, reasoning=reasoning, finish_reason=finish_reason, usage=usage, model=model
    )


def _usage(metadata: Any, state: State) -> Usage | None:
    if not metadata:
        return None
    prompt = as_count(field(metadata, "input_tokens"))
    completion = as_count(field(metadata, "output_tokens"))
    if prompt is None and completion is None:
        return None
    if prompt is not None:
        state.prompt_tokens = (state.prompt_tokens or 0) + prompt
    if completion is not None:
        state.completion_tokens = (state.completion_tokens or 0) + completion
    return Usage(prompt_tokens=state.prompt_tokens, completion_tokens=state.completion_tokens)
