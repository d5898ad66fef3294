"""The MIME bundle of an answer: readable everywhere, rich where nbstream is installed.

``text/markdown`` is what JupyterLab without the extension, Notebook 7, VS Code, GitHub
and nbconvert show; ``text/plain`` is the last resort (and what terminals print);
``application/vnd.nbstream.v1+json`` carries the structured state for nbstream's own
renderer (live cursor, Stop, Copy). The Markdown is made safe to show mid-stream: an
unclosed code fence is closed so the status line never ends up inside it; and the
model's text in it is defanged (:mod:`._markdown` has both rules), since front ends without
nbstream may render it unsanitised: no raw HTML, links only http(s)/mailto, no image
fetched. Nothing here
has a clock or an id, so the same answer always gives the same bundle (nbval-friendly).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._markdown import SafeMarkdown, close_open_fence, defang, has_fence, literal_block
from ._response import Response

MIME_TYPE = "application/vnd.nbstream.v1+json"
FORMATS = ("markdown", "text", "code")  # how an answer is shown: answer_markdown()


def short_model(spec: str) -> str:
    """``llama:/a/b/model.gguf?n_ctx=8`` → ``model.gguf``; others unchanged."""
    backend, _, model = spec.partition(":")
    if backend == "llama" or spec.endswith(".gguf"):
        return os.path.basename(model.split("?", 1)[0]) or spec
    return spec


def status_line(response: Response) -> str:
    """model · tokens · tok/s · time to first token, with the state in front."""
    parts = [short_model(response.model), f"{response.tokens} tokens"]
    if response.tokens_per_s is not None:
        parts.append(f"{response.tokens_per_s:.1f} tok/s")
    if response.ttft_s is not None:
        parts.append(f"first token {response.ttft_s:.2f} s")
    prefix = {
        "streaming": "● streaming",
        "done": "",
        "interrupted": "■ interrupted",
        "error": "▲ error",
    }[response.status]
    return " · ".join([prefix, *parts] if prefix else parts)


def answer_markdown(response: Response, fmt: str, safe: Callable[[str], str] | None = None) -> str:
    """The answer as the bundle's Markdown shows it; ``safe`` is a :class:`SafeMarkdown`."""
    text = response.text
    if fmt == "text":
        return literal_block(text, "text") if text else ""
    if fmt == "code" and text and not has_fence(text):
        return literal_block(text)
    return safe(text) if safe is not None else defang(close_open_fence(text))


class LiveBundle:
    """:func:`build` for one answer as it grows: the live output calls it ~20 times a second.

    The bundles are exactly :func:`build`'s; the answer's and the reasoning's Markdown is
    made safe by a :class:`~._markdown.SafeMarkdown` each, which does each finished line
    once instead of the whole answer on every update (measured: ~1 ms less per update at
    30 KB of Markdown, which the generating thread waits out for the GIL).
    """

    def __init__(self, *, fmt: str = "markdown", params: dict[str, Any] | None = None) -> None:
        self.fmt = fmt
        self.params = params
        self._answer = SafeMarkdown()
        self._reasoning = SafeMarkdown()

    def __call__(self, response: Response) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(data, metadata)`` for ``display_data`` / ``update_display_data``."""
        status = status_line(response)
        pieces = []
        if response.reasoning:
            pieces.append(
                "<details><summary>Reasoning</summary>\n\n"
                + self._reasoning(response.reasoning)
                + "\n\n</details>\n"
            )
        answer = answer_markdown(response, self.fmt, self._answer)
        if answer:
            pieces.append(answer)
        pieces.append(f"<sub>{_escape_html(status)}</sub>")
        markdown = "\n\n".join(pieces)
        plain = f"{response.text}\n\n[{status}]" if response.text else f"[{status}]"
        payload = response.to_dict()
        payload["format"] = self.fmt
        payload["status_line"] = status
        timings = {
            "ttft_s": response.ttft_s,
            "tokens_per_s": response.tokens_per_s,
            "elapsed_s": response.elapsed_s,
        }
        payload["timings"] = timings
        data = {"text/plain": plain, "text/markdown": markdown, MIME_TYPE: payload}
        metadata = {
            "nbstream": {
                "model": response.model,
                "params": self.params or {},
                "status": response.status,
                "usage": response.usage.as_dict(),
                "timings": timings,
            }
        }
        return data, metadata


def build(
    response: Response, *, fmt: str = "markdown", params: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(data, metadata)`` for ``display_data`` / ``update_display_data``."""
    return LiveBundle(fmt=fmt, params=params)(response)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
