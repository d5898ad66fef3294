"""Conversations for ``%%llm -c [NAME]``: the turns so far, by name, per kernel.

A turn is recorded only once its answer is known, so a failed or interrupted cell does
not leave a question without an answer in the history (an interrupted answer that had
text is kept: the user saw it, and the model should too). Without ``-c`` each cell is a
single turn and nothing is stored.
"""

from __future__ import annotations

from ._types import Message

DEFAULT_NAME = "default"


class Conversations:
    """Named message histories (user and assistant turns; the system prompt is per cell)."""

    def __init__(self) -> None:
        self._histories: dict[str, list[Message]] = {}

    def history(self, name: str = DEFAULT_NAME) -> list[Message]:
        return list(self._histories.get(name, []))

    def names(self) -> list[str]:
        return sorted(self._histories)

    def record(self, name: str, prompt: str, answer: str) -> None:
        turns = self._histories.setdefault(name, [])
        turns.append(Message("user", prompt))
        turns.append(Message("assistant", answer))

    def reset(self, name: str | None = None) -> None:
        if name is None:
            self._histories.clear()
        else:
            self._histories.pop(name, None)

    def transcript(self, name: str = DEFAULT_NAME) -> str:
        """The conversation as Markdown, for ``%llm history``."""
        turns = self._histories.get(name, [])
        if not turns:
            return f"*The conversation {name!r} is empty.*"
        blocks = [f"**{m.role}:**\n\n{m.content}" for m in turns]
        return "\n\n---\n\n".join(blocks)
