"""Reading a field the same way from a client's object or from its ``model_dump()`` dict.

The shapes are recognised without importing any client package, so every read is duck
typed: a key of a mapping, else an attribute (pydantic models, dataclasses, plain
objects). A field that is missing or of the wrong type counts as absent, as in
:mod:`nbstream._json`, whose typed reads these reuse. Also here: what several
shapes share — a ``content`` that is a list of typed parts, and the per-stream state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._json import as_count, as_opt_str, as_str
from .._types import text_chunk

__all__ = ["OTHER", "State", "as_count", "as_opt_str", "as_str", "field", "parts", "text_chunk"]


_MISSING: Final = object()


def field(value: Any, name: str) -> Any:
    """``value[name]`` for a mapping, else ``value.name``; ``None`` when absent.

    Runs several times per chunk, so the usual cases come first and cost one lookup: a
    dict; an object's own ``__dict__`` (where pydantic keeps declared fields); pydantic's
    extra fields (``reasoning_content`` on an ``openai`` delta), read directly because a
    missing attribute through pydantic's ``__getattr__`` costs a raised exception. (So a
    pydantic model's properties are not fields here; no shape needs one.)
    """
    if type(value) is dict:
        return value.get(name)
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        found = attributes.get(name, _MISSING)
        if found is not _MISSING:
            return found
        extra = getattr(value, "__pydantic_extra__", _MISSING)
        if extra is not _MISSING:  # a pydantic model: not a declared field, maybe an extra
            return extra.get(name) if extra else None
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


class _Other:
    def __repr__(self) -> str:
        return "OTHER"


OTHER: Final = _Other()
"""A shape's reader returns this for an item of another shape (the reader detects anew)."""


class State:
    """What one stream spreads over several events (one per :class:`ShapeReader`).

    ``model`` is the last model reported (a chunk says it only when it changes);
    ``prompt_tokens``/``completion_tokens`` are running totals for shapes that report
    usage in pieces; ``raw_deltas`` is set once an Anthropic ``content_block_delta`` was
    read, after which the SDK's ``text``/``thinking`` convenience events repeat it.
    """

    __slots__ = ("completion_tokens", "model", "prompt_tokens", "raw_deltas")

    def __init__(self) -> None:
        self.model: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.raw_deltas = False

    def new_model(self, value: Any) -> str | None:
        """``value`` if it names a model not reported before, else ``None``."""
        model = as_opt_str(value)
        if model is None or model == self.model:
            return None
        self.model = model
        return model


def parts(content: Any) -> tuple[str, str]:
    """A ``content`` as (text, reasoning): a string, or a list of typed parts.

    Parts are strings, ``{"type": "text", "text"}``, ``{"type": "thinking", "thinking"}``
    (Anthropic through LangChain; Mistral nests a list of text parts there) and
    ``{"type": "reasoning", "reasoning"}`` (LangChain's standard block) or ``"summary":
    [{"text"}]`` (OpenAI's Responses API through LangChain). Other parts (images, tool
    calls, citations) carry nothing to show.
    """
    if isinstance(content, str):
        return content, ""
    if not isinstance(content, (list, tuple)):
        return "", ""
    text: list[str] = []
    reasoning: list[str] = []
    for part in content:
        if isinstance(part, str):
            text.append(part)
            continue
        kind = field(part, "type")
        if kind == "text":
            text.append(as_str(field(part, "text")))
        elif kind == "thinking":
            thinking = field(part, "thinking")
            reasoning.append(thinking if isinstance(thinking, str) else parts(thinking)[0])
        elif kind == "reasoning":
            said = field(part, "reasoning")
            summary = field(part, "summary")
            if isinstance(said, str):
                reasoning.append(said)
            elif isinstance(summary, (list, tuple)):
                reasoning.extend(as_str(field(s, "text")) for s in summary)
    return "".join(text), "".join(reasoning)
