"""Ollama client chunks: ``ollama.chat`` and ``ollama.generate`` with ``stream=True``.

Chat chunks carry ``message.content`` and ``message.thinking``; generate chunks carry
``response`` and ``thinking``. The last one has ``done: true``, ``done_reason``,
``prompt_eval_count`` and ``eval_count``. An ``{"error": …}`` item (the ``ollama``
client raises these itself; a dict stream may hand one over) ends the stream with a
:class:`~nbstream.StreamError`. The same fields as the ``ollama:`` backend reads off the
wire (:mod:`nbstream.backends.ollama`), read here from objects as well as dicts.
"""

from __future__ import annotations

from typing import Any

from .._types import Chunk, Usage
from ._errors import raise_stream_error
from ._fields import OTHER, State, as_count, as_opt_str, as_str, field, text_chunk


def read_ollama(item: Any, state: State) -> Any:
    """An Ollama chat or generate chunk, object or dict."""
    error = field(item, "error")
    if error:
        raise_stream_error(error, "Ollama")
    done = field(item, "done")
    message = field(item, "message")
    if message is not None:
        text = as_str(field(message, "content"))
        reasoning = as_str(field(message, "thinking"))
    else:
        response = field(item, "response")
        if done is None and response is None:
            return OTHER
        text = as_str(response)
        reasoning = as_str(field(item, "thinking"))
    finish_reason = usage = None
    if done is True:
        finish_reason = as_opt_str(field(item, "done_reason")) or "stop"
        usage = Usage(
            prompt_tokens=as_count(field(item, "prompt_eval_count")),
            completion_tokens=as_count(field(item, "eval_count")),
        )
    model = field(item, "model")
    model = None if model is None or model == state.model else state.new_model(model)
    if finish_reason is None and model is None and not reasoning:
        return text_chunk(text) if text else None  # the usual chunk: new text only
    if not (text or reasoning or finish_reason or model):
        return None
    return Chunk(
        text=text, reasoning=reasoning, finish_reason=finish_reason, usage=usage, model=model
    )
