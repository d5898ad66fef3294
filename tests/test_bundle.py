from nbstream._bundle import MIME_TYPE, build, short_model, status_line
from nbstream._markdown import close_open_fence, literal_block
from nbstream._response import Response
from nbstream._types import Usage


def test_close_open_fence() -> None:
    assert close_open_fence("a\n```py\nx = 1") == "a\n```py\nx = 1\n```"
    assert close_open_fence("```\nx\n```") == "```\nx\n```"
    assert close_open_fence("````\n```\n") == "````\n```\n````"
    assert close_open_fence("~~~\nx\n") == "~~~\nx\n~~~"
    assert close_open_fence("no fences") == "no fences"


def test_literal_block_fence_longer_than_content() -> None:
    block = literal_block("has ``` inside", "text")
    assert block.startswith("````text\n") and block.endswith("\n````")


def test_short_model() -> None:
    assert short_model("llama:/a/b/tiny.gguf") == "tiny.gguf"
    assert short_model("ollama:llama3.2") == "ollama:llama3.2"


def test_status_line_states() -> None:
    r = Response(text="x", model="ollama:m", tokens=12, tokens_per_s=30.04, ttft_s=0.123)
    assert status_line(r) == "ollama:m · 12 tokens · 30.0 tok/s · first token 0.12 s"
    assert status_line(Response(model="ollama:m", status="streaming")).startswith("● streaming")
    assert "interrupted" in status_line(Response(model="m", status="interrupted"))
    assert "error" in status_line(Response(model="m", status="error", error="boom"))


def test_bundle_has_the_three_types_and_is_deterministic() -> None:
    r = Response(
        text="# Hi\n```py\nx",
        reasoning="because",
        model="ollama:m",
        tokens=3,
        usage=Usage(1, 3),
        finish_reason="stop",
    )
    data, metadata = build(r, params={"temperature": 0})
    assert set(data) == {"text/plain", "text/markdown", MIME_TYPE}
    assert data["text/markdown"].index("<details>") < data["text/markdown"].index("# Hi")
    assert "```py\nx\n```" in data["text/markdown"]
    assert "because" not in data["text/plain"]
    payload = data[MIME_TYPE]
    assert payload["text"] == r.text and payload["reasoning"] == "because"
    assert payload["usage"] == {"prompt_tokens": 1, "completion_tokens": 3}
    assert set(payload["timings"]) == {"ttft_s", "tokens_per_s", "elapsed_s"}
    for key in ("text", "reasoning", "status", "model", "usage", "timings"):
        assert key in payload
    assert metadata["nbstream"]["params"] == {"temperature": 0}
    assert build(r, params={"temperature": 0}) == (data, metadata)


def test_text_format_shows_markdown_literally() -> None:
    data, _ = build(Response(text="**not bold**", model="m"), fmt="text")
    assert "```text\n**not bold**\n```" in data["text/markdown"]


def test_status_is_escaped_html() -> None:
    data, _ = build(Response(text="x", model="ollama:<b>"))
    assert "<b>" not in data["text/markdown"]
