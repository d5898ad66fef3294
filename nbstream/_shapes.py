"""Chunks of any stream a user already holds, recognised by shape, as nbstream chunks.

Stub: the "any stream" work fills this in (OpenAI chat-completion chunks and Responses
events, Anthropic message events, Ollama, llama-cpp-python and LangChain chunks, objects
or dicts), without importing any of those packages. Until then only ``str`` is known.
"""

from __future__ import annotations

from ._types import Chunk


class UnknownChunkError(TypeError):
    """A chunk of a shape nbstream does not know; the message names its type."""


class ShapeReader:
    """Reads one stream's items in order; keeps what a shape spreads over several events.

    ``read(item)`` returns the :class:`Chunk` an item carries, or ``None`` for an item
    with nothing to show (a start or ping event). An unknown item raises
    :class:`UnknownChunkError` with one sentence naming its type and the shapes accepted.
    """

    def read(self, item: object) -> Chunk | None:
        if isinstance(item, str):
            return Chunk(text=item) if item else None
        raise UnknownChunkError(
            f"show() cannot read a chunk of type {type(item).__name__}; it accepts str chunks."
        )
