"""Chunks of any stream a user already holds, recognised by shape, as nbstream chunks.

``show()`` takes the stream a user has — from ``openai``, ``anthropic``, ``ollama``,
llama-cpp-python, LangChain, or their own generator of strings — and reads each item
with one :class:`ShapeReader`. Nothing here imports those packages: a shape is
recognised by its fields (attributes or dict keys, so ``model_dump()`` dicts read the
same as the objects), one module per family:

* :mod:`._openai` — chat-completion and completion chunks (also LiteLLM, vLLM, Hugging
  Face's OpenAI-shaped clients, llama-cpp-python), and Responses API events;
* :mod:`._anthropic` — Messages stream events, raw or from ``messages.stream()``;
* :mod:`._ollama` — ``ollama.chat`` / ``ollama.generate`` chunks;
* :mod:`._langchain` — ``AIMessageChunk``.

``read`` runs once per chunk, 20,000 times for a long answer, so it is cheap: a ``str``
is tested first and built fast, and the shape recognised from the first item is tried
first for every later one (a reader per shape says ``OTHER`` when an item is not its
own, and only then is the item recognised anew).

An error the stream reports inside itself raises :class:`~nbstream.StreamError` from
``read`` (:mod:`._errors`); an item of no known shape raises :class:`UnknownChunkError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .._types import Chunk
from ._anthropic import EVENTS as _ANTHROPIC_EVENTS
from ._anthropic import read_anthropic
from ._errors import raise_stream_error
from ._fields import OTHER, State, field, text_chunk
from ._langchain import TYPES as _LANGCHAIN_TYPES
from ._langchain import read_langchain
from ._ollama import read_ollama
from ._openai import read_chat, read_responses

__all__ = ["SHAPES", "ShapeReader", "UnknownChunkError"]

SHAPES: Final = (
    "str, OpenAI chat-completion chunks and Responses API events, Anthropic message "
    "events, Ollama chat and generate chunks, llama-cpp-python chunks and LangChain "
    "message chunks (objects or their model_dump() dicts)"
)
"""The shapes accepted, as the error sentence and the README name them."""

_Shape = Callable[[Any, State], Any]


class UnknownChunkError(TypeError):
    """A chunk of a shape nbstream does not know; the message names its type."""


class ShapeReader:
    """Reads one stream's items in order; keeps what a shape spreads over several events.

    ``read(item)`` returns the :class:`Chunk` an item carries, or ``None`` for an item
    with nothing to show (a start or ping event). An unknown item raises
    :class:`UnknownChunkError` with one sentence naming its type and the shapes accepted;
    an error reported inside the stream raises :class:`~nbstream.StreamError`.
    """

    __slots__ = ("_shape", "_state")

    def __init__(self) -> None:
        self._shape: _Shape | None = None
        self._state = State()

    def read(self, item: object) -> Chunk | None:
        if type(item) is str:
            return text_chunk(item) if item else None
        shape = self._shape
        if shape is not None:
            chunk = shape(item, self._state)
            if chunk is not OTHER:
                return chunk  # type: ignore[no-any-return]
        shape = _recognise(item)
        self._shape = shape
        chunk = shape(item, self._state)
        if chunk is OTHER:  # a shape's marker field with nothing else of it
            raise UnknownChunkError(_unknown(item))
        return chunk  # type: ignore[no-any-return]


def _read_str(item: Any, state: State) -> Any:
    if not isinstance(item, str):
        return OTHER
    return Chunk(text=str(item)) if item else None


def _read_error(item: Any, state: State) -> Any:
    raise_stream_error(item, "The stream")  # {"error": …} with no other field of a shape


def _recognise(item: Any) -> _Shape:
    """The reader for ``item``'s shape; raises :class:`UnknownChunkError` if none fits."""
    if isinstance(item, str):
        return _read_str
    if isinstance(item, bytes | bytearray | memoryview):
        raise UnknownChunkError(
            f"show() got a {type(item).__name__} chunk; decode the stream to text first "
            "(for example `(b.decode() for b in stream)`) and pass str chunks."
        )
    kind = field(item, "type")
    if isinstance(kind, str):
        if kind.startswith("response."):
            return read_responses
        if kind in _ANTHROPIC_EVENTS:
            return read_anthropic
        if kind in _LANGCHAIN_TYPES:
            return read_langchain
        if kind == "error":
            # Anthropic nests {"type", "message"} under "error"; Responses puts them at the top.
            return read_anthropic if field(item, "error") is not None else read_responses
    if isinstance(field(item, "choices"), (list, tuple)):
        return read_chat
    if field(item, "done") is not None or field(item, "message") is not None:
        return read_ollama
    if isinstance(field(item, "response"), str):
        return read_ollama
    if field(item, "error"):
        return _read_error
    raise UnknownChunkError(_unknown(item))


def _unknown(item: Any) -> str:
    name = type(item).__name__
    if isinstance(item, Mapping):
        keys = ", ".join(repr(k) for k in list(item)[:6]) or "none"
        name = f"{name} (keys {keys})"
    return f"show() cannot read a chunk of type {name}; it accepts {SHAPES}."
