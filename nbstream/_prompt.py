"""Prompt interpolation: ``{name}`` from the notebook, everything else untouched.

Prompts are full of braces that are not placeholders — JSON, code, LaTeX — so this is
not ``str.format``. Only ``{identifier}``, followed by any ``.attr`` and ``[INT]`` (a
literal non-negative integer), whose first name is bound in the namespace is replaced;
an unknown name, a missing attribute or item, or any other brace is left exactly as
written. ``{{`` gives a literal ``{`` and the ``}}`` that closes it a literal ``}``; a
``}}`` that closes nothing (the end of nested JSON) stays as written. Nothing is
evaluated: names are looked up, attributes read with ``getattr`` and items with ``[n]``.

A value that is an image (:func:`._images.to_image`) travels beside the text, in
placeholder order, and leaves ``[image N]`` in it; any other value becomes text through
:func:`._values.value_text`, within the per-value budget. A name may refuse with a
:class:`~._exceptions.NbstreamError` (``{Err[99]}`` for a cell that did not fail, see
:mod:`._context`): that sentence reaches the user and nothing is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._exceptions import NbstreamError
from ._images import to_image
from ._types import Image, Request
from ._values import DEFAULT_MAX_VALUE_CHARS, value_text

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\{{\{{|\}}\}}|\{{({_NAME}(?:\.{_NAME}|\[[0-9]+\])*)\}}")
_STEP = re.compile(rf"\.({_NAME})|\[([0-9]+)\]")
_MISSING = object()

CHARS_PER_TOKEN = 4
"""The rough rule behind the ``--dry-run`` token estimate (English text with BPE tokenizers)."""


@dataclass(frozen=True)
class Interpolated:
    """A filled-in prompt: its text and the images its placeholders named, in order."""

    text: str
    images: tuple[Image, ...] = ()


def interpolate(
    template: str,
    namespace: Mapping[str, Any],
    *,
    max_value_chars: int = DEFAULT_MAX_VALUE_CHARS,
) -> Interpolated:
    """Replace bound placeholders; see the module docstring."""
    out: list[str] = []
    images: list[Image] = []
    open_escapes = 0
    position = 0
    for match in _TOKEN.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token == "{{":
            open_escapes += 1
            out.append("{")
        elif token == "}}":
            if open_escapes:
                open_escapes -= 1
                out.append("}")
            else:
                out.append(token)
        else:
            path = match.group(1)
            value = _lookup(path, namespace)
            if value is _MISSING:
                out.append(token)
                continue
            image = to_image(value)
            if image is not None:
                images.append(image)
                out.append(f"[image {len(images)}]")
            else:
                out.append(value_text(value, max_value_chars, name=path))
    out.append(template[position:])
    return Interpolated("".join(out), tuple(images))


def _lookup(path: str, namespace: Mapping[str, Any]) -> Any:
    first = re.match(_NAME, path)
    assert first is not None  # the token's pattern starts with a name
    if first.group(0) not in namespace:
        return _MISSING
    value = namespace[first.group(0)]
    for step in _STEP.finditer(path, first.end()):
        attr, index = step.groups()
        try:
            value = getattr(value, attr) if attr is not None else value[int(index)]
        except NbstreamError:
            raise  # a notebook name's own sentence ({Err[99]})
        except Exception:
            return _MISSING
    return value


def size_estimate(request: Request) -> str:
    """One line for ``--dry-run``: the prompt's characters and a rough token count.

    Everything the model reads is counted — system prompt, conversation, this prompt
    (with ``--raw``, the prompt alone) — as characters ÷ :data:`CHARS_PER_TOKEN`; the
    model's own tokenizer decides the real number, and images are not counted.
    """
    texts = [request.prompt] if request.raw else [m.content for m in request.messages]
    chars = sum(len(text) for text in texts)
    images = sum(len(m.images) for m in request.messages)
    tokens = -(-chars // CHARS_PER_TOKEN)
    line = (
        f"Prompt size: {chars:,} characters, about {tokens:,} tokens "
        f"(characters ÷ {CHARS_PER_TOKEN}; the model's tokenizer decides the real count)"
    )
    if images:
        line += f", plus {images} image{'s' if images > 1 else ''} (not counted)"
    return line + "."
