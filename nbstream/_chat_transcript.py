"""The chat's conversation as text: the saved transcript and the stable repr.

A widget is only a reference to live state in the kernel: reopened without a kernel,
JupyterLab shows "Error displaying widget: model not found" where the widget was (widget
state is not saved by default). So the chat shows a second output, a plain Markdown
transcript, and replaces it (``update_display_data``, by display id) whenever an answer
ends. That is what GitHub, nbconvert, nbval and a kernel-less JupyterLab show; while the
widget is live, its script hides the transcript right under it.

Model text goes into the transcript with HTML neutralised outside code (``<`` becomes
``&lt;``), because a reopened notebook is trusted and its Markdown may be rendered
unsanitised: no tag written by a model may run. Code spans and fenced blocks are left
alone, since Markdown already shows them literally. Nothing here has a clock, an id or an
address, so the same conversation always gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._bundle import close_open_fence, short_model

TRANSCRIPT_HEADING = "nbstream chat"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_ROLE_TITLES = {"user": "You", "assistant": "Assistant", "system": "System"}
_STATUS_NOTES = {"interrupted": "■ stopped", "error": "▲ error"}


def neutralize_html(markdown: str) -> str:
    """Escape ``<`` and ``&`` outside code spans and fenced code blocks."""
    lines: list[str] = []
    prose: list[str] = []
    opener: str | None = None
    for line in markdown.split("\n"):
        fence = _FENCE.match(line)
        if opener is None and fence is None:
            prose.append(line)
            continue
        if opener is None and fence is not None:
            opener = fence.group(1)
            if prose:
                lines.append(_escape_prose("\n".join(prose)))
                prose = []
        elif fence and opener and _closes(fence.group(1), opener):
            opener = None
        lines.append(line)
    if prose:
        lines.append(_escape_prose("\n".join(prose)))
    return "\n".join(lines)


def _closes(fence: str, opener: str) -> bool:
    return fence[0] == opener[0] and len(fence) >= len(opener)


def _escape_prose(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        pieces.append(_escape(text[last : match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_escape(text[last:]))
    return "".join(pieces)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def transcript_markdown(model: str, turns: Sequence[Mapping[str, Any]]) -> str:
    """The whole conversation as Markdown, one block per turn."""
    count = len(turns)
    noun = "message" if count == 1 else "messages"
    head = f"**{TRANSCRIPT_HEADING}** · `{short_model(model)}` · {count} {noun}"
    blocks = [head]
    for turn in turns:
        role = str(turn.get("role", "assistant"))
        body = close_open_fence(neutralize_html(str(turn.get("content", ""))))
        block = f"**{_ROLE_TITLES.get(role, role)}:**\n\n{body}" if body else f"**{role}:**"
        note = _STATUS_NOTES.get(str(turn.get("status", "")))
        if note:
            error = turn.get("error")
            detail = f": {_escape(str(error))}" if error else ""
            block += f"\n\n*{note}{detail}*"
        blocks.append(block)
    return "\n\n---\n\n".join(blocks)


def transcript_plain(model: str, turns: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as plain text (terminals, nbval's ``text/plain`` comparison)."""
    lines = [f"{TRANSCRIPT_HEADING} · {short_model(model)} · {len(turns)} messages"]
    for turn in turns:
        role = _ROLE_TITLES.get(str(turn.get("role")), str(turn.get("role")))
        lines.append(f"{role}: {turn.get('content', '')}")
        note = _STATUS_NOTES.get(str(turn.get("status", "")))
        if note:
            lines.append(f"[{note}{': ' + str(turn['error']) if turn.get('error') else ''}]")
    return "\n".join(lines)


def chat_repr(model: str, turns: Sequence[Mapping[str, Any]], busy: bool) -> str:
    """``Chat(model='…', messages=N)``: no address, so saved outputs do not churn."""
    state = ", answering" if busy else ""
    return f"Chat(model={short_model(model)!r}, messages={len(turns)}{state})"
