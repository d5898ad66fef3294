"""Errors a stream reports inside itself, raised as :class:`~nbstream.StreamError`.

A Responses ``error`` event or ``response.failed``, an Anthropic ``error`` event, an
Ollama ``{"error": …}`` line and an OpenAI-style ``{"error": {…}}`` chunk all say the
source gave up mid-answer. The official clients raise most of these themselves; a
stream of dicts, a proxy or a user's own parser hands them over as items. Reading one
raises, so the caller ends the answer the way it ends any exception from the source:
``status == "error"``, the text before it kept, this sentence shown.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .._exceptions import StreamError
from ._fields import as_opt_str, field

_LIMIT = 200


def raise_stream_error(error: Any, source: str) -> NoReturn:
    """Raise the one-sentence :class:`StreamError` for ``error`` (a str, object or dict).

    The message is the error's own (``message``, or a nested ``error.message``) with its
    code or type, cut to a readable length.
    """
    nested = field(error, "error")
    if nested is not None and not isinstance(nested, str):
        error = nested  # Anthropic's {"type": "error", "error": {"type", "message"}}
    message: str | None
    code: str | None = None
    if isinstance(error, str):
        message = error
    elif isinstance(nested, str):
        message = nested  # Ollama's {"error": "…"}
    else:
        message = as_opt_str(field(error, "message"))
        code = as_opt_str(field(error, "code")) or as_opt_str(field(error, "type"))
    detail = " ".join((message or "no message").split())
    if len(detail) > _LIMIT:
        detail = detail[: _LIMIT - 1] + "…"
    detail = detail.rstrip(".")
    label = f"{code}: {detail}" if code and code != "error" else detail
    raise StreamError(
        f"{source} reported an error mid-answer ({label}); the text before it is kept — try again."
    )
