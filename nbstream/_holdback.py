"""Holding back the end of streamed text that could still become a given string.

Two things must never be shown in part: a stop string (nothing from it on is part of the
answer) and a secret (a key echoed by a server, split across two chunks). In both cases
the text that is safe to show now is everything before the longest suffix that is the
beginning of one of those strings; that suffix waits for the next chunk, which either
completes the string or proves it was ordinary text.

:func:`partial_start` finds that suffix in O(length of the strings) per call, whatever
the length of the text, by trying only the positions where a string's first character
occurs — so a hold-back costs the same on the thousandth token as on the first.
"""

from __future__ import annotations

from collections.abc import Sequence


def partial_start(text: str, needles: Sequence[str], minimum: int = 1) -> int:
    """Where the longest suffix of ``text`` that is a proper prefix of a needle begins.

    Returns ``len(text)`` when no suffix of at least ``minimum`` characters is the start
    of a needle (a whole needle is not a *proper* prefix: finding it is the caller's job).
    Needles must not be empty.
    """
    end = len(text)
    best = end
    last = end - minimum + 1  # a suffix starting at or after this is too short
    if last <= 0:
        return end  # (and a negative bound would count from the end in str.find)
    for needle in needles:
        first = needle[0]
        # A proper prefix is at most len(needle) - 1 characters long.
        at = text.find(first, max(0, end - len(needle) + 1), min(best, last))
        while at != -1:
            if needle.startswith(text[at:]):
                best = at
                break
            at = text.find(first, at + 1, min(best, last))
    return best
