"""What every notebook generator shares: build cells, execute for real, record the answers.

A tutorial notebook's saved outputs must be what a reader gets, so each generator
executes its notebook with real models (the demo model in the kernel, a real local
server) while ``$NBSTREAM_RECORD`` appends every exchange to
``notebooks/recordings/<name>.jsonl``. CI then runs the notebooks under nbval with
``$NBSTREAM_REPLAY=notebooks/recordings``: no model, no network, and the outputs —
recorded timings included — compare equal byte for byte.

Two things keep the saved notebooks equal to their replay and free of this machine:

* An in-kernel model shows live as its absolute path (a home directory), but a recording
  keeps only its file name, and so does a replay; the saved outputs show the file name.
* Running a tutorial must change no file in the repository, so a notebook that records
  by itself does so in a scratch folder (``tempfile.mkdtemp()``). The kernel's ``TMPDIR``
  points into a folder of the generator's, and the recordings named in
  ``scratch_recordings`` found there join the notebook's committed recording.

Run a generator from the repository root: ``.venv/bin/python scripts/make_<name>.py``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbstream._specs import demo_model_path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
RECORDINGS = NOTEBOOKS / "recordings"


def why(text: str) -> NotebookNode:
    """A Markdown cell: the sentence that says why the next cell is there."""
    return new_markdown_cell(text)


def code(source: str, *tags: str) -> NotebookNode:
    """A code cell; ``tags`` such as ``raises-exception`` or ``nbval-ignore-output``."""
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def build(
    name: str, cells: list[NotebookNode], *, scratch_recordings: tuple[str, ...] = ()
) -> Path:
    """Write ``notebooks/<name>.ipynb``, execute it for real and record it; return its path.

    ``scratch_recordings`` are the file names of recordings the notebook writes itself
    (``--record``) into a scratch folder; they become part of ``recordings/<name>.jsonl``.
    """
    for number, cell in enumerate(cells, 1):
        cell.id = f"cell-{number:02d}"  # stable ids keep regenerated notebooks' diffs small
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    recording = RECORDINGS / f"{name}.jsonl"
    recording.unlink(missing_ok=True)
    saved = {key: os.environ.get(key) for key in ("NBSTREAM_RECORD", "NBSTREAM_REPLAY", "TMPDIR")}
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["NBSTREAM_RECORD"] = str(recording)
        os.environ.pop("NBSTREAM_REPLAY", None)
        os.environ["TMPDIR"] = scratch  # the kernel's tempfile.mkdtemp() lands here
        try:
            client = NotebookClient(
                notebook,
                timeout=600,
                kernel_name="python3",
                record_timing=False,
                # Saved widget state would carry the chat widget's whole script (~0.7 MB); a
                # reopened notebook shows the chat's transcript in place of the widget instead.
                store_widget_state=False,
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            )
            client.execute()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        for file_name in scratch_recordings:
            found = sorted(Path(scratch).rglob(file_name))
            if not found:
                raise RuntimeError(f"{name} wrote no {file_name} in its scratch folder")
            with recording.open("a", encoding="utf-8") as committed:
                for path in found:
                    committed.write(path.read_text(encoding="utf-8"))
    _show_models_by_file_name(notebook)
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def _show_models_by_file_name(notebook: NotebookNode) -> None:
    """Outputs show the demo model as a replay does: by its file name, not this machine's path."""
    demo = demo_model_path()
    if demo is None:
        return
    folder = os.path.dirname(demo) + os.sep

    def strip(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(folder, "")
        if isinstance(value, list):
            return [strip(item) for item in value]
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items()}
        return value

    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(strip(output)) for output in cell.outputs]
