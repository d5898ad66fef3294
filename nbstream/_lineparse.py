"""Splitting a ``%llm`` line into options and a prompt written as-is.

In ``%llm ollama:llama3.2 -t 0 What's 2+2?`` the prompt is free text — apostrophes,
quotes and all — so the line cannot simply go through ``shlex``. Leading words are read
as options (with their values) and at most one model spec; the prompt is the rest of the
line from the first word that is neither, exactly as typed. In the line form ``-c`` takes
no name (the next word would be ambiguous); write ``--chat=NAME`` for a named one.
"""

from __future__ import annotations

import re
import shlex

from ._specs import looks_like_spec

_WORD = re.compile(r"""(?:[^\s'"]+|'[^']*'|"(?:\\.|[^"\\])*")+""")


def first_word(line: str) -> tuple[str, str]:
    """``("use", " ollama:x")`` for ``"use ollama:x"``; the rest keeps its spacing."""
    stripped = line.lstrip()
    word, _, rest = stripped.partition(" ")
    return word, rest


def _unquote(word: str) -> str:
    try:
        parts = shlex.split(word)
    except ValueError:
        return word
    return parts[0] if parts else ""


def split_line(
    line: str, aliases: dict[str, str], value_options: frozenset[str]
) -> tuple[str, str]:
    """``(options_text, prompt)`` for the line form of the magic.

    ``value_options`` are the option strings that take a value (``-t``, ``--record``…),
    derived from the one option parser (:mod:`._request`) so the two cannot drift apart.
    """
    position = 0
    expecting_value = False
    seen_spec = False
    for match in _WORD.finditer(line):
        word = match.group(0)
        if expecting_value:
            expecting_value = False
        elif word.startswith("-") and len(word) > 1:
            name = word.split("=", 1)[0]
            expecting_value = name in value_options and "=" not in word
        elif not seen_spec and looks_like_spec(_unquote(word), aliases):
            seen_spec = True
        else:
            return line[: match.start()], line[match.start() :]
        position = match.end()
    return line[:position], ""
