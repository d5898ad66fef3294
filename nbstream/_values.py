"""How a notebook value becomes prompt text: one place, one character budget.

A prompt that names a value (``{df}``, ``{Out[4]}``, ``{Err[7]}``) gets text that a model
can read and a user could have read: ``str(value)`` for anything, except a pandas
DataFrame or Series, whose ``str`` is either pandas' display-truncated view (its width
and row limits depend on the display options) or, with those raised, megabytes. A frame
becomes a compact Markdown table instead: its type and shape, each shown column's name
and dtype, the first and the last rows, and a line saying what was left out.

Every value's text is then kept within a budget (``%config LLMMagics.max_value_chars``,
:data:`DEFAULT_MAX_VALUE_CHARS` by default): longer text keeps its beginning and its end
(an error's traceback ends with the error) with a marker between them that says how many
characters were left out. Nothing is dropped without a visible mark.

The table is cheap whatever the frame's size: only the rows and columns shown are read
(``iloc`` on positions), so a 2-million-row or 200 MB frame costs what a 10-row one does;
the whole frame is never turned into text. pandas is not imported here: a frame is
recognised by its class's module and name, so ``%%llm`` never imports pandas for a
notebook that does not use it.

Why not ``DataFrame.to_markdown()``: it needs ``tabulate``, which is not a dependency of
nbstream (nor of pandas), and it pads every cell to its column's width — spaces that
spend the character budget and the model's tokens for nothing. A pipe table needs only
a header row, a ``|---|`` row and ``|`` between cells (with ``|`` in a cell escaped),
which is what :func:`_table` writes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ._exceptions import NbstreamError, UsageError

DEFAULT_MAX_VALUE_CHARS = 4000
"""The default of ``LLMMagics.max_value_chars``: a few thousand characters per value."""

MIN_VALUE_CHARS = 200
"""The smallest budget allowed: room for a marker and some text on each side."""

CELL_CHARS = 60
"""A table cell longer than this is cut and ends in ``…``."""

# (rows shown at each end, columns shown at most): tried in turn until the table fits.
_TABLE_SIZES = ((5, 20), (3, 12), (2, 8), (1, 4))


def value_text(value: Any, max_chars: int = DEFAULT_MAX_VALUE_CHARS, *, name: str = "") -> str:
    """``value`` as prompt text within ``max_chars`` characters (see the module docstring).

    ``name`` is how the prompt named the value (``df``), for the one sentence shown if
    its ``str()`` fails.
    """
    kind = _pandas_kind(value)
    try:
        if kind == "DataFrame":
            text = _frame_text(value, max_chars)
        elif kind == "Series":
            text = _series_text(value, max_chars)
        else:
            text = str(value)
    except NbstreamError:
        raise
    except Exception as exc:
        label = f"{{{name}}}" if name else "A value"
        raise UsageError(
            f"{label} could not be turned into text ({type(exc).__name__}: {exc}); "
            "name a simpler value, or write --no-interpolate."
        ) from None
    return cut(text, max_chars)


def cut(text: str, max_chars: int) -> str:
    """``text`` if it fits; else its beginning and end around a marker, ``max_chars`` at most."""
    if len(text) <= max_chars:
        return text
    # The marker is sized for the largest count it could show, so the result always fits.
    room = max(max_chars - len(_marker(len(text), len(text))), 0)
    head = room * 2 // 3
    tail = room - head
    marker = _marker(len(text) - room, len(text))
    return text[:head] + marker + (text[-tail:] if tail else "")


def _marker(left_out: int, total: int) -> str:
    return f"\n[… {left_out:,} of {total:,} characters left out …]\n"


def _pandas_kind(value: Any) -> str | None:
    """``"DataFrame"`` or ``"Series"`` for pandas' (and their subclasses), else None."""
    for cls in type(value).__mro__:
        if _in_pandas(cls) and cls.__name__ in ("DataFrame", "Series"):
            return cls.__name__
    return None


def _frame_text(frame: Any, max_chars: int) -> str:
    n_rows, n_cols = frame.shape
    text = ""
    for end_rows, max_cols in _TABLE_SIZES:
        rows = _positions(n_rows, end_rows)
        cols = _positions(n_cols, max_cols // 2) if n_cols > max_cols else list(range(n_cols))
        shown = frame.iloc[rows, cols]
        dtypes = shown.dtypes
        header = [f"{_cell(name)}: {dtypes.iloc[i]}" for i, name in enumerate(shown.columns)]
        body = [
            [_cell(label), *(_cell(v) for v in values)]
            for label, *values in shown.itertuples(index=True, name=None)
        ]
        title = f"{_class_name(frame)}: {n_rows:,} rows × {n_cols:,} columns"
        text = "\n".join(
            [
                title,
                _table(["", *header], body, rows, n_rows, cols, n_cols),
                *_left_out(len(rows), n_rows, "rows", len(cols), n_cols),
            ]
        )
        if len(text) <= max_chars:
            break
    return text


def _series_text(series: Any, max_chars: int) -> str:
    n_rows = len(series)
    name = "" if series.name is None else f" {_cell(series.name)}"
    text = ""
    for end_rows, _ in _TABLE_SIZES:
        rows = _positions(n_rows, end_rows)
        shown = series.iloc[rows]
        body = [[_cell(label), _cell(value)] for label, value in shown.items()]
        title = f"{_class_name(series)}{name}: {n_rows:,} values, dtype {series.dtype}"
        column = _cell(series.name) if series.name is not None else "value"
        text = "\n".join(
            [
                title,
                _table(["", column], body, rows, n_rows, [0], 1),
                *_left_out(len(rows), n_rows, "values", 1, 1),
            ]
        )
        if len(text) <= max_chars:
            break
    return text


def _positions(total: int, at_each_end: int) -> list[int]:
    """The first and the last ``at_each_end`` positions of ``total`` (all when they meet)."""
    if total <= 2 * at_each_end:
        return list(range(total))
    return [*range(at_each_end), *range(total - at_each_end, total)]


def _table(
    header: Sequence[str],
    body: Sequence[Sequence[str]],
    rows: Sequence[int],
    n_rows: int,
    cols: Sequence[int],
    n_cols: int,
) -> str:
    """A Markdown pipe table; ``…`` rows and columns stand where some were left out."""
    gap_row = _gap(rows, n_rows)
    gap_col = _gap(cols, n_cols)

    def line(cells: Sequence[str], gap: str = "…") -> str:
        cells = list(cells)
        if gap_col is not None:
            cells.insert(gap_col + 1, gap)  # + 1: the index column comes first
        return "| " + " | ".join(cells) + " |"

    lines = [line(header), line(["---"] * len(header), "---")]
    for i, cells in enumerate(body):
        if i == gap_row:
            lines.append(line(["…"] * len(header)))
        lines.append(line(cells))
    return "\n".join(lines)


def _gap(positions: Sequence[int], total: int) -> int | None:
    """Where in ``positions`` the left-out ones would be, or None if none are."""
    if len(positions) == total:
        return None
    return next(i for i in range(1, len(positions)) if positions[i] != positions[i - 1] + 1)


def _left_out(shown_rows: int, n_rows: int, what: str, shown_cols: int, n_cols: int) -> list[str]:
    parts = []
    if shown_rows < n_rows:
        parts.append(f"{n_rows - shown_rows:,} {what}")
    if shown_cols < n_cols:
        parts.append(f"{n_cols - shown_cols:,} columns")
    return [f"({' and '.join(parts)} not shown)"] if parts else []


def _cell(value: Any) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        # Shortest round-trip text, unless that is long (0.1 + 0.2): then 8 digits.
        text = repr(float(value))
        if len(text) > 12:
            text = format(value, ".8g")
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - 1] + "…"
    return text


def _class_name(value: Any) -> str:
    cls = type(value)
    return f"pandas.{cls.__name__}" if _in_pandas(cls) else cls.__qualname__


def _in_pandas(cls: type) -> bool:
    # pandas sets its public classes' __module__ to "pandas"; older ones say pandas.core….
    return cls.__module__ == "pandas" or cls.__module__.startswith("pandas.")
