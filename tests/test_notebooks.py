"""The example notebooks are what their generators write, fully executed, with final answers.

nbval itself runs in CI (see the Makefile's ``notebooks`` target): every notebook against
``notebooks/recordings`` with outputs compared, and the quickstart once for real with
the demo model. These tests check what nbval cannot: that each notebook is exactly what
``scripts/make_*.py`` builds (so it can be regenerated), that every code cell was run
and comes after a sentence saying why, that the saved answers are finished ones (not a
"streaming" snapshot) and that no key reached a saved output or a recording.
"""

from __future__ import annotations

import importlib
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MIME = "application/vnd.nbstream.v1+json"
GENERATORS = {
    "01-quickstart": "make_quickstart",
    "02-endpoints": "make_endpoints",
    "03-chat-widget": "make_chat_widget",
    "04-prompts-and-variables": "make_prompts",
    "05-testing-llm-notebooks": "make_testing",
}
PLACEHOLDER_KEY = "sk-placeholder-not-a-real-key"


def notebook(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return data


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


@pytest.fixture(scope="module", autouse=True)
def scripts_on_path() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    yield
    sys.path.remove(str(ROOT / "scripts"))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_notebook_is_what_its_generator_writes(name: str) -> None:
    generator = importlib.import_module(GENERATORS[name])
    expected = [
        (c["cell_type"], source(c), c.get("metadata", {}).get("tags", [])) for c in generator.cells
    ]
    saved = [
        (c["cell_type"], source(c), c.get("metadata", {}).get("tags", []))
        for c in notebook(name)["cells"]
    ]
    assert saved == expected, f"run scripts/{GENERATORS[name]}.py to regenerate {name}"


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_code_cell_ran_after_a_sentence_of_why(name: str) -> None:
    cells = notebook(name)["cells"]
    assert cells[0]["cell_type"] == "markdown"
    for before, cell in itertools.pairwise(cells):
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None, source(cell)
        # A code cell directly after another is part of the step its Markdown explained.
        if before["cell_type"] == "markdown":
            assert source(before).strip().endswith((".", ":", ")")), source(before)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_saved_answers_are_final(name: str) -> None:
    answers = [
        output["data"][MIME]
        for cell in notebook(name)["cells"]
        for output in cell.get("outputs", [])
        if MIME in output.get("data", {})
    ]
    assert answers, "each notebook shows at least one answer"
    for answer in answers:
        assert answer["status"] == "done", answer["status_line"]
        assert answer["text"] and answer["tokens"] > 0
        assert answer["ttft_s"] is not None and answer["tokens_per_s"] is not None


def test_each_notebook_with_answers_has_its_recording() -> None:
    for name in GENERATORS:
        recording = NOTEBOOKS / "recordings" / f"{name}.jsonl"
        if name == "05-testing-llm-notebooks":
            recording = NOTEBOOKS / "recordings" / "05-example.jsonl"
        lines = recording.read_text(encoding="utf-8").splitlines()
        # The chat notebook shows Stop, so one of its answers ends that way on purpose.
        allowed = ("done", "stop") if name == "03-chat-widget" else ("done",)
        assert lines and all(json.loads(line)["ending"] in allowed for line in lines)


def test_no_key_in_saved_outputs_or_recordings() -> None:
    for path in [*NOTEBOOKS.glob("*.ipynb"), *(NOTEBOOKS / "recordings").glob("*.jsonl")]:
        if path.suffix == ".ipynb":
            outputs = [c.get("outputs", []) for c in json.loads(path.read_text())["cells"]]
            text = json.dumps(outputs)
        else:
            text = path.read_text(encoding="utf-8")
        assert PLACEHOLDER_KEY not in text, path.name
        assert "Bearer sk-" not in text, path.name
