"""Typed reads from untrusted JSON: the wrong type counts as absent.

Servers and proxies put surprising values in streamed JSON (``"delta": "x"``, numbers
where text belongs, lists where objects belong). The parsers read every field through
these, so a malformed field drops out instead of raising ``TypeError`` deep in the
pipeline, and every :class:`~nbstream._types.Chunk` they build is well typed.
"""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_count(value: Any) -> int | None:
    """A token count: a non-negative int (``bool`` is not a count)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
