"""What every notebook generator shares: build cells, execute for real, record the answers.

A tutorial notebook's saved outputs must be what a reader gets, so each generator
executes its notebook with real models (the demo model in the kernel, a real local
server) while ``$NBSTREAM_RECORD`` appends every exchange to
``notebooks/recordings/<name>.jsonl``. CI then runs the notebooks under nbval with
``$NBSTREAM_REPLAY=notebooks/recordings``: no model, no network, and the outputs —
recorded timings included — compare equal byte for byte.

Run a generator from the repository root: ``.venv/bin/python scripts/make_<name>.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

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


def build(name: str, cells: list[NotebookNode], *, extra_recordings: tuple[str, ...] = ()) -> Path:
    """Write ``notebooks/<name>.ipynb``, execute it for real and record it; return its path.

    ``extra_recordings`` are recording files the notebook writes itself (``--record``);
    they are removed first so that each run starts them afresh.
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
    for stale in (recording, *(NOTEBOOKS / extra for extra in extra_recordings)):
        stale.unlink(missing_ok=True)
    saved = {key: os.environ.get(key) for key in ("NBSTREAM_RECORD", "NBSTREAM_REPLAY")}
    os.environ["NBSTREAM_RECORD"] = str(recording)
    os.environ.pop("NBSTREAM_REPLAY", None)
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
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path
