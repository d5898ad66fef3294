"""The Markdown fence rules, run from the table the front end's tests run too.

``labextension/src/__tests__/markdown_cases.json`` holds inputs and what CommonMark
makes of them; ``markdown.spec.ts`` checks ``markdown.ts`` (the live view) against the
same rows, so a saved answer (:mod:`nbstream._markdown`) renders like the live one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mistune
import pytest

from nbstream._markdown import (
    close_open_fence,
    code_blocks,
    code_of,
    has_fence,
    literal_block,
    open_fence,
)

CASES = json.loads(
    (
        Path(__file__).resolve().parent.parent / "labextension/src/__tests__/markdown_cases.json"
    ).read_text(encoding="utf-8")
)


def _rows(kind: str) -> list[Any]:
    return [pytest.param(row, id=row["name"]) for row in CASES[kind]]


@pytest.mark.parametrize("row", _rows("fences"))
def test_fences(row: dict[str, Any]) -> None:
    text = row["markdown"]
    assert open_fence(text) == row["open_fence"]
    assert close_open_fence(text) == row["closed"]
    assert has_fence(text) is row["has_fence"]
    assert code_blocks(text) == row["code_blocks"]


@pytest.mark.parametrize("row", _rows("fences"))
def test_the_table_is_what_a_markdown_renderer_makes_of_it(row: dict[str, Any]) -> None:
    # The expectations themselves, checked with mistune (nbconvert's renderer): its
    # fenced blocks are the closed ones plus, when a fence is left open, that one
    # (which runs to the end); and the closed text leaves no block open.
    parse = mistune.create_markdown(renderer=None)
    tokens = parse(row["markdown"])
    fenced = [t["raw"].rstrip("\n") for t in tokens if t.get("style") == "fenced"]
    if row["open_fence"] is None:
        assert fenced == row["code_blocks"]
    else:
        assert fenced[:-1] == row["code_blocks"]
        assert parse(row["closed"] + "\n\nafter")[-1]["type"] == "paragraph"


@pytest.mark.parametrize("row", _rows("literal_blocks"))
def test_literal_blocks(row: dict[str, Any]) -> None:
    assert literal_block(row["text"], row["info"]) == row["block"]


def test_code_of_joins_the_blocks_or_takes_the_whole_text() -> None:
    assert code_of("Here:\n```py\na = 1\n```\nand\n```\nb = 2\n```") == "a = 1\n\nb = 2"
    assert code_of("  x = 1\n") == "x = 1"
