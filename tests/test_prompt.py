from types import SimpleNamespace

import pytest

from nbstream._exceptions import UsageError
from nbstream._prompt import Interpolated, interpolate, size_estimate
from nbstream._types import Image, Message, Request

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


# -- subscripts, the budget, images, refusals -------------------------------------------

SEQ = {"xs": ["a", "b"], "d": {0: "zero"}, "obj": SimpleNamespace(items=[SimpleNamespace(n=7)])}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{xs[1]}", "b"),
        ("{d[0]}", "zero"),
        ("{obj.items[0].n}", "7"),
        ("{xs[9]} stays", "{xs[9]} stays"),
        ("{xs[-1]} stays", "{xs[-1]} stays"),
        ("{xs[i]} stays", "{xs[i]} stays"),
        ("{xs[1 + 0]} stays", "{xs[1 + 0]} stays"),
        ("{xs[0][0]}", "a"),
        ("{xs [0]} stays", "{xs [0]} stays"),
        ("{{xs[0]}}", "{xs[0]}"),
    ],
)
def test_literal_integer_subscripts(template: str, expected: str) -> None:
    assert interpolate(template, SEQ).text == expected


def test_each_value_is_kept_within_the_budget() -> None:
    text = interpolate("A {long} B {long}", {"long": "x" * 5_000}, max_value_chars=300).text
    first, second = text[2:].split(" B ")
    assert len(first) <= 300 and len(second) <= 300
    assert first == second and "[… 4,7" in first and "characters left out …]" in first


def test_a_names_own_refusal_reaches_the_user() -> None:
    class Cells:
        def __getitem__(self, n: int) -> str:
            raise UsageError(f"Cell {n} did not fail.")

    with pytest.raises(UsageError, match=r"^Cell 99 did not fail\.$"):
        interpolate("Why? {Err[99]}", {"Err": Cells()})


def test_images_travel_beside_the_text_in_placeholder_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    red, blue = Image(b"red", "image/png", 1, 1), Image(b"blue", "image/jpeg", 2, 2)
    pictures = {"red": red, "blue": blue}

    class Picture:
        def __init__(self, name: str) -> None:
            self.name = name

    def to_image(value: object) -> Image | None:
        return pictures[value.name] if isinstance(value, Picture) else None

    # The one seam: whatever _images.to_image says is an image, interpolation attaches.
    monkeypatch.setattr("nbstream._prompt.to_image", to_image)
    ns = {"a": Picture("blue"), "b": Picture("red"), "n": 3}
    filled = interpolate("{a} then {n} then {b}", ns)
    assert filled == Interpolated("[image 1] then 3 then [image 2]", (blue, red))
    assert interpolate("{n}", ns).images == ()


def test_size_estimate_counts_what_the_model_reads() -> None:
    request = Request(
        "openai",
        "m",
        messages=(
            Message("system", "s" * 100),
            Message("user", "u" * 1_001, (Image(b"x"), Image(b"y"))),
        ),
        prompt="u" * 1_001,
    )
    assert size_estimate(request) == (
        "Prompt size: 1,101 characters, about 276 tokens (characters ÷ 4; the model's "
        "tokenizer decides the real count), plus 2 images (not counted)."
    )
    raw = Request("llama", "m", messages=(Message("user", "abcd"),), prompt="abcd", raw=True)
    assert size_estimate(raw).startswith("Prompt size: 4 characters, about 1 tokens ")
    assert size_estimate(raw).endswith("real count).")
