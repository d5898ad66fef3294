"""How values become prompt text (:mod:`nbstream._values`): fast, no kernel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nbstream._exceptions import UsageError
from nbstream._values import CELL_CHARS, DEFAULT_MAX_VALUE_CHARS, cut, value_text


def test_other_values_are_their_str() -> None:
    assert value_text(42) == "42"
    assert value_text([1, "a"]) == "[1, 'a']"
    assert value_text("a | b\nc") == "a | b\nc"


@pytest.mark.parametrize("size", [301, 1_000, 123_456])
def test_long_text_keeps_both_ends_and_says_how_much_is_left_out(size: int) -> None:
    text = "B" + "x" * (size - 2) + "E"
    shown = cut(text, 300)
    assert len(shown) <= 300
    assert shown.startswith("Bxxx") and shown.endswith("xxxE")
    left_out = size - (len(shown) - len(shown[shown.index("\n[…") : shown.index("…]\n") + 3]))
    assert f"[… {left_out:,} of {size:,} characters left out …]" in shown


def test_text_within_the_budget_is_untouched() -> None:
    text = "y" * DEFAULT_MAX_VALUE_CHARS
    assert value_text(text) == text
    assert "left out" in value_text(text + "y")


def _sales(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=rows, freq="min"),
            "sales": np.arange(rows) * 0.5,
            "region": np.where(np.arange(rows) % 2, "north|east", "south"),
        }
    )


def test_a_big_frame_is_a_table_of_its_first_and_last_rows() -> None:
    text = value_text(_sales(2_000_000))
    lines = text.splitlines()
    assert lines[0] == "pandas.DataFrame: 2,000,000 rows × 3 columns"
    assert lines[1].startswith("|  | day: datetime64[")
    assert lines[1].endswith("| sales: float64 | region: str |") or lines[1].endswith(
        "| sales: float64 | region: object |"
    )
    assert lines[2] == "| --- | --- | --- | --- |"
    assert lines[3] == "| 0 | 2024-01-01 00:00:00 | 0.0 | south |"
    assert lines[4] == "| 1 | 2024-01-01 00:01:00 | 0.5 | north\\|east |"
    assert lines[8] == "| … | … | … | … |"
    assert lines[-2] == "| 1999999 | 2027-10-20 21:19:00 | 999999.5 | north\\|east |"
    assert lines[-1] == "(1,999,990 rows not shown)"
    assert len(lines) == 3 + 5 + 1 + 5 + 1
    assert len(text) <= DEFAULT_MAX_VALUE_CHARS


def test_a_small_frame_is_shown_whole() -> None:
    text = value_text(pd.DataFrame({"a": [1, 2]}, index=["x", "y"]))
    assert text == (
        "pandas.DataFrame: 2 rows × 1 columns\n|  | a: int64 |\n| --- | --- |\n| x | 1 |\n| y | 2 |"
    )


def test_a_wide_frame_shows_its_first_and_last_columns() -> None:
    text = value_text(pd.DataFrame(np.ones((2, 50)), columns=[f"c{i}" for i in range(50)]))
    header, rule, first = text.splitlines()[1:4]
    assert header.startswith("|  | c0: float64 |") and header.endswith("| c49: float64 |")
    assert "| c9: float64 | … | c40: float64 |" in header
    assert "c10" not in header and "c39" not in header
    assert "| --- | --- | --- |" in rule and "…" not in rule
    assert first.count("|") == header.count("|")
    assert text.splitlines()[-1] == "(30 columns not shown)"


def test_a_series_is_a_table_too() -> None:
    text = value_text(pd.Series(np.arange(100), name="n"))
    lines = text.splitlines()
    assert lines[0] == "pandas.Series n: 100 values, dtype int64"
    assert lines[1:4] == ["|  | n |", "| --- | --- |", "| 0 | 0 |"]
    assert lines[-2:] == ["| 99 | 99 |", "(90 values not shown)"]


def test_long_cells_are_cut_and_a_table_shrinks_to_fit_the_budget() -> None:
    frame = pd.DataFrame({f"col{i}": ["w" * 500] * 1000 for i in range(30)})
    text = value_text(frame, 2_000)
    assert len(text) <= 2_000
    assert f"| {'w' * (CELL_CHARS - 1)}… |" in text
    assert "w" * CELL_CHARS not in text
    # Fewer rows and columns (1 at each end, 4 columns) until the table fits: no cut.
    assert text.splitlines()[-1] == "(998 rows and 26 columns not shown)"
    assert "characters left out" not in text
    # A table that cannot fit even so is cut like any text.
    tiny = value_text(frame, 300)
    assert len(tiny) <= 300 and "characters left out" in tiny


def test_floats_read_as_short_as_they_round_trip() -> None:
    frame = pd.DataFrame({"x": [0.1 + 0.2, 101.88595334258, 1e-9, 999999.5, float("nan")]})
    cells = [line.strip("| ").split(" | ")[1] for line in value_text(frame).splitlines()[3:]]
    assert cells == ["0.3", "101.88595", "1e-09", "999999.5", "nan"]


def test_a_value_whose_str_fails_is_one_sentence() -> None:
    class Broken:
        def __str__(self) -> str:
            raise ValueError("no text today")

    with pytest.raises(UsageError) as caught:
        value_text(Broken(), name="thing")
    assert str(caught.value) == (
        "{thing} could not be turned into text (ValueError: no text today); "
        "name a simpler value, or write --no-interpolate."
    )


def test_a_class_that_is_only_named_dataframe_is_plain_text() -> None:
    class DataFrame:
        shape = (1, 1)

        def __str__(self) -> str:
            return "mine"

    assert value_text(DataFrame()) == "mine"


def test_plain_values_do_not_import_pandas() -> None:
    code = (
        "import sys; from nbstream._values import value_text; value_text([1]); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
