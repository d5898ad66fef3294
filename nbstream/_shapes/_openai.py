"""OpenAI's two stream shapes: chat-completion chunks and Responses API events.

Chat-completion chunks (``openai``'s ``ChatCompletionChunk``, LiteLLM, vLLM, Hugging
Face's OpenAI-shaped clients, llama-cpp-python's ``create_chat_completion``) carry
``choices[0].delta``: ``content`` (a string, or a list of typed parts), reasoning as
``reasoning_content`` (DeepSeek, llama.cpp) or ``reasoning`` (vLLM), a ``refusal``
(shown as the answer), ``finish_reason``; ``usage`` comes on a last chunk whose
``choices`` is empty. Completion chunks (``create_completion``, ``/v1/completions``)
carry ``choices[0].text`` instead of a delta.

Responses API events are typed by ``type``: text in ``response.output_text.delta``,
reasoning in ``response.reasoning_summary_text.delta`` and
``response.reasoning_text.delta``, usage (``input_tokens``/``output_tokens``) on the
final ``response.completed`` or ``response.incomplete``; ``response.failed`` and
``error`` events end the stream with a :class:`~nbstream.StreamError`.
"""

from __future__ import annotations

from typing import Any, Final

from .._types import Chunk, Usage
from ._errors import raise_stream_error
from ._fields import OTHER, State, as_count, as_opt_str, as_str, field, parts, text_chunk


def read_chat(item: Any, state: State) -> Any:
    """A chat-completion or completion chunk, object or dict."""
    choices = field(item, "choices")
    if not isinstance(choices, (list, tuple)):
        return OTHER
    text = reasoning = ""
    finish_reason = None
    if choices:
        choice = choices[0]
        finish_reason = field(choice, "finish_reason")
        delta = field(choice, "delta")
        if delta is None:  # a completion chunk
            text = as_str(field(choice, "text"))
        else:
            content = field(delta, "content")
            if type(content) is str:
                text = content
            else:
                text, reasoning = parts(content)
            reasoning += as_str(field(delta, "reasoning_content")) or as_str(
                field(delta, "reasoning")
            )
            refusal = field(delta, "refusal")
            if refusal:
                text += as_str(refusal)
    usage = field(item, "usage")
    model = field(item, "model")
    model = None if model is None or model == state.model else state.new_model(model)
    if finish_reason is None and usage is None and model is None and not reasoning:
        return text_chunk(text) if text else None  # the usual chunk: new text only
    if usage is not None:
        usage = Usage(
            prompt_tokens=as_count(field(usage, "prompt_tokens")),
            completion_tokens=as_count(field(usage, "completion_tokens")),
        )
    finish_reason = as_opt_str(finish_reason)
    if not (text or reasoning or finish_reason or usage or model):
        return None
    return Chunk(
        text=text, reasoning=reasoning, finish_reason=finish_reason, usage=usage, model=model
    )


_TEXT: Final = frozenset({"response.output_text.delta", "response.refusal.delta"})
_REASONING: Final = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)
_STARTED: Final = frozenset({"response.created", "response.in_progress", "response.queued"})
_ENDED: Final = frozenset({"response.completed", "response.incomplete"})
# Why a response is incomplete, in the words finish_reason uses elsewhere.
_INCOMPLETE: Final = {"max_output_tokens": "length"}


def read_responses(item: Any, state: State) -> Any:
    """A Responses API stream event, object or dict."""
    kind = field(item, "type")
    if kind in _TEXT:
        text = as_str(field(item, "delta"))
        return text_chunk(text) if text else None
    if kind in _REASONING:
        reasoning = as_str(field(item, "delta"))
        return Chunk(reasoning=reasoning) if reasoning else None
    if kind == "response.reasoning_summary_part.added":
        # Summaries come in parts; keep them apart as paragraphs.
        index = field(item, "summary_index")
        return Chunk(reasoning="\n\n") if isinstance(index, int) and index > 0 else None
    if kind in _STARTED:
        model = state.new_model(field(field(item, "response"), "model"))
        return Chunk(model=model) if model else None
    if kind in _ENDED:
        return _ended(field(item, "response"), state)
    if kind == "response.failed":
        raise_stream_error(field(field(item, "response"), "error"), "The Responses stream")
    if kind == "error":
        raise_stream_error(item, "The Responses stream")
    if isinstance(kind, str) and kind.startswith("response."):
        return None  # output items, content parts, ".done" repeats, tool calls
    return OTHER


def _ended(response: Any, state: State) -> Chunk:
    usage = field(response, "usage")
    reason = as_opt_str(field(field(response, "incomplete_details"), "reason"))
    return Chunk(
        finish_reason=_INCOMPLETE.get(reason, reason) if reason else "stop",
        usage=None
        if usage is None
        else Usage(
            prompt_tokens=as_count(field(usage, "input_tokens")),
            completion_tokens=as_count(field(usage, "output_tokens")),
        ),
        model=state.new_model(field(response, "model")),
    )
