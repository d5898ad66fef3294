"""The chat's conversation as text: the saved transcript and the stable repr.

A widget is only a reference to live state in the kernel: reopened without a kernel,
JupyterLab shows "Error displaying widget: model not found" where the widget was (widget
state is not saved by default, and saved state would carry the widget's whole script).
So the chat shows a second output right under the widget, the transcript, and replaces
it (``update_display_data``, by display id) whenever an answer ends. It has three forms:

- ``application/vnd.nbstream.transcript.v1+json`` (:func:`transcript_payload`): the
  messages, for nbstream's front end, which shows them like the chat — each answer
  through the same untrusted rendering as a cell's answer — in place of the widget when
  the widget cannot be shown, and hides itself while the live widget is there;
- ``text/markdown`` for GitHub, nbconvert and front ends without nbstream, with model
  text defanged (:mod:`.._markdown`: raw HTML escaped, links only http(s)/mailto,
  images written as links), because a reopened notebook is trusted and its Markdown may
  be rendered unsanitised;
- ``text/plain``.

An image a user sent is, in all three, a placeholder line (type, pixels, bytes): its
bytes are never saved, and a saved notebook never loads a picture from anywhere.

Nothing here has a clock, an id or an address, so the same conversation always gives
the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._bundle import short_model
from .._images import placeholder, summary
from .._markdown import close_open_fence, defang, escape_html
from .._types import Image

TRANSCRIPT_HEADING = "nbstream chat"
TRANSCRIPT_MIME_TYPE = "application/vnd.nbstream.transcript.v1+json"
_ROLE_TITLES = {"user": "You", "assistant": "Assistant", "system": "System"}
_STATUS_NOTES = {"interrupted": "■ stopped", "error": "▲ error"}
_TURN_KEYS = ("role", "content", "status", "stats", "reasoning", "error")
_IMAGE_KEYS = ("label", "mime", "width", "height", "bytes", "sha256")


def image_turn(image: Image) -> dict[str, Any]:
    """An image as a turn carries it: the thumbnail's data URI (the live widget only)
    and the placeholder line everything saved shows instead."""
    return {"label": placeholder(image), **summary(image), "src": image.data_uri()}


def transcript_payload(model: str, turns: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The messages for nbstream's front end (rendered there as untrusted Markdown).

    Images are placeholders (no ``src``): a saved notebook holds no picture bytes, and
    its transcript never loads anything.
    """
    return {"model": short_model(model), "turns": [_saved(turn) for turn in turns]}


def _saved(turn: Mapping[str, Any]) -> dict[str, Any]:
    saved = {k: turn[k] for k in _TURN_KEYS if k in turn}
    if turn.get("images"):
        saved["images"] = [{k: i.get(k) for k in _IMAGE_KEYS} for i in turn["images"]]
    return saved


def _labels(turn: Mapping[str, Any]) -> list[str]:
    return [str(image.get("label", "[image]")) for image in turn.get("images") or ()]


def transcript_markdown(model: str, turns: Sequence[Mapping[str, Any]]) -> str:
    """The whole conversation as Markdown, one block per turn."""
    count = len(turns)
    noun = "message" if count == 1 else "messages"
    head = f"**{TRANSCRIPT_HEADING}** · `{short_model(model)}` · {count} {noun}"
    blocks = [head]
    for turn in turns:
        role = str(turn.get("role", "assistant"))
        body = defang(close_open_fence(str(turn.get("content", ""))))
        block = f"**{_ROLE_TITLES.get(role, role)}:**\n\n{body}" if body else f"**{role}:**"
        for label in _labels(turn):
            block += f"\n\n*{escape_html(label)}*"
        note = _STATUS_NOTES.get(str(turn.get("status", "")))
        if note:
            error = turn.get("error")
            detail = f": {escape_html(str(error))}" if error else ""
            block += f"\n\n*{note}{detail}*"
        blocks.append(block)
    return "\n\n---\n\n".join(blocks)


def transcript_plain(model: str, turns: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as plain text (terminals, nbval's ``text/plain`` comparison)."""
    lines = [f"{TRANSCRIPT_HEADING} · {short_model(model)} · {len(turns)} messages"]
    for turn in turns:
        role = _ROLE_TITLES.get(str(turn.get("role")), str(turn.get("role")))
        lines.append(f"{role}: {turn.get('content', '')}")
        lines.extend(_labels(turn))
        note = _STATUS_NOTES.get(str(turn.get("status", "")))
        if note:
            lines.append(f"[{note}{': ' + str(turn['error']) if turn.get('error') else ''}]")
    return "\n".join(lines)


def chat_repr(model: str, turns: Sequence[Mapping[str, Any]], busy: bool) -> str:
    """``Chat(model='…', messages=N)``: no address, so saved outputs do not churn."""
    state = ", answering" if busy else ""
    return f"Chat(model={short_model(model)!r}, messages={len(turns)}{state})"
