import pytest

from nbstream._lineparse import first_word, split_line
from nbstream._magic import VALUE_OPTIONS


@pytest.mark.parametrize(
    ("line", "options", "prompt"),
    [
        ("ollama:llama3.2 What's 2+2?", "ollama:llama3.2 ", "What's 2+2?"),
        ("-t 0 ollama:x Say hi", "-t 0 ollama:x ", "Say hi"),
        ("ollama:x -n 5 Say hi", "ollama:x -n 5 ", "Say hi"),
        ('-s "be terse" openai:gpt-4o It\'s fine', '-s "be terse" openai:gpt-4o ', "It's fine"),
        ("What is: this?", "", "What is: this?"),
        ("model.gguf hello", "model.gguf ", "hello"),
        ("fast hello there", "fast ", "hello there"),
        ("-c ollama:x more", "-c ollama:x ", "more"),
        ("--chat=work ollama:x more", "--chat=work ollama:x ", "more"),
        ("ollama:x", "ollama:x", ""),
        ("ollama:x ollama:y", "ollama:x ", "ollama:y"),
        ("--record r.jsonl ollama:x Hi", "--record r.jsonl ollama:x ", "Hi"),
        ("--dry-run ollama:x Hi", "--dry-run ollama:x ", "Hi"),
    ],
)
def test_split_line(line: str, options: str, prompt: str) -> None:
    assert split_line(line, {"fast": "ollama:llama3.2 -t 0"}, VALUE_OPTIONS) == (options, prompt)


def test_value_options_come_from_the_parser() -> None:
    for option in (
        "-m",
        "--model",
        "-s",
        "-t",
        "-n",
        "--seed",
        "--stop",
        "-o",
        "--format",
        "--record",
        "--base-url",
        "--api-key-env",
        "--timeout",
    ):
        assert option in VALUE_OPTIONS
    for flag in ("--raw", "--dry-run", "--no-interpolate", "-c", "--chat"):
        assert flag not in VALUE_OPTIONS


def test_first_word() -> None:
    assert first_word("  use  ollama:x") == ("use", " ollama:x")
    assert first_word("") == ("", "")
