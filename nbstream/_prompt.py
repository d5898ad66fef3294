"""Prompt interpolation: ``{name}`` from the notebook, everything else untouched.

Prompts are full of braces that are not placeholders — JSON, code, LaTeX — so this is
not ``str.format``. Only ``{identifier}`` or ``{identifier.attr…}`` whose first name is
bound in the user's namespace is replaced, by ``str(value)``; an unknown name, a missing
attribute or any other brace is left exactly as written. ``{{`` gives a literal ``{``
and the ``}}`` that closes it a literal ``}``; a ``}}`` that closes nothing (the end of
nested JSON) stays as written. Nothing is evaluated: names are looked up, attributes
read with ``getattr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_MISSING = object()


def interpolate(template: str, namespace: Mapping[str, Any]) -> str:
    """Replace bound ``{name}`` / ``{name.attr}`` placeholders; see the module docstring."""
    out: list[str] = []
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
            value = _lookup(match.group(1), namespace)
            out.append(token if value is _MISSING else str(value))
    out.append(template[position:])
    return "".join(out)


def _lookup(path: str, namespace: Mapping[str, Any]) -> Any:
    first, *attrs = path.split(".")
    if first not in namespace:
        return _MISSING
    value = namespace[first]
    for attr in attrs:
        try:
            value = getattr(value, attr)
        except Exception:
            return _MISSING
    return value
