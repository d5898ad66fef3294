from types import SimpleNamespace

import pytest

from nbstream._prompt import interpolate

NS = {"topic": "the sea", "n": 3, "obj": SimpleNamespace(name="Ada", inner=SimpleNamespace(x=1))}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Write about {topic}.", "Write about the sea."),
        ("{n} items", "3 items"),
        ("{obj.name} and {obj.inner.x}", "Ada and 1"),
        ("{unknown} stays", "{unknown} stays"),
        ("{obj.missing} stays", "{obj.missing} stays"),
        ('JSON {"a": 1} stays', 'JSON {"a": 1} stays'),
        ('nested {"a": {"b": 1}} stays', 'nested {"a": {"b": 1}} stays'),
        ("{{topic}} is literal", "{topic} is literal"),
        ("{{ and }} become braces", "{ and } become braces"),
        ("code: def f(): return {1: 2}", "code: def f(): return {1: 2}"),
        ("{ topic } has spaces", "{ topic } has spaces"),
        ("{topic!r} is not a format spec", "{topic!r} is not a format spec"),
        ("{0} positional", "{0} positional"),
        ("latex \\frac{a}{b}", "latex \\frac{a}{b}"),
        ("f-string {{x}} in code", "f-string {x} in code"),
        ("", ""),
    ],
)
def test_interpolate(template: str, expected: str) -> None:
    assert interpolate(template, NS).text == expected


def test_nothing_is_evaluated() -> None:
    calls = []

    class Loud:
        def __str__(self) -> str:
            calls.append("str")
            return "loud"

    assert interpolate("{__import__} {x}", {"x": Loud()}).text == "{__import__} loud"
    assert calls == ["str"]


def test_builtins_are_not_names() -> None:
    assert interpolate("{len} {print}", {}).text == "{len} {print}"


def test_attribute_error_of_any_kind_leaves_text() -> None:
    class Raises:
        @property
        def bad(self) -> str:
            raise RuntimeError("no")

    assert interpolate("{r.bad}", {"r": Raises()}).text == "{r.bad}"
