"""``Response``: what a generation produced, as the user reads it afterwards.

A ``Response`` is an immutable value. The live output renders a fresh one ~20 times a
second while streaming (``status == "streaming"``), and the last one is what ``_llm``,
``-o NAME`` and ``nbstream.generate()`` hand back. It displays as the answer's Markdown,
and its ``repr`` is stable (no addresses, no secrets) so saved notebooks and nbval
comparisons do not churn.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ._types import Usage

Status = Literal["streaming", "done", "interrupted", "error"]


@dataclass(frozen=True)
class Response:
    """The answer (``text``), kept apart from ``reasoning``, with how it ended and timings.

    ``status`` is ``"done"``, ``"interrupted"`` or ``"error"`` once finished (``error``
    then holds the one-sentence message). ``ttft_s`` is the time to the first token and
    ``tokens_per_s`` the generation rate after it.
    """

    text: str = ""
    reasoning: str = ""
    status: Status = "done"
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    elapsed_s: float | None = None
    error: str | None = None
    tokens: int = 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return (
            f"Response(status={self.status!r}, model={self.model!r}, "
            f"tokens={self.tokens}, text={preview!r})"
        )

    def _repr_markdown_(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``application/vnd.nbstream.v1+json`` payload uses it)."""
        # Field by field, not dataclasses.asdict(): that deep-copies every value (~40 µs;
        # the live output makes one of these per update) and all of them are immutable.
        data = {name: getattr(self, name) for name in _FIELDS}
        data["usage"] = self.usage.as_dict()
        return data


_FIELDS = tuple(f.name for f in fields(Response))
