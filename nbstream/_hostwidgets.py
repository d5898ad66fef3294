"""The three widgets of live cells in widget hosts (:mod:`._widgethost`, :mod:`._widgetwire`).

Imported only inside a kernel, where nbstream is set up (``%load_ext``, or a first live
cell), since anywidget brings in ipywidgets (about a tenth of a second).

Their scripts are built from ``labextension/src`` into ``nbstream/static`` with the
chat's (``probe.ts`` → ``probe.js``, ``loader.ts`` → ``answer.js``, ``chat.ts`` →
``chat.js``), read here as files, as the chat widget reads its own: one source for each.

All of them share one ``Layout``: the probe's. A DOM widget opens a ``Layout`` model of
its own by default (~0.5 KB of state and a message envelope), which each answer would pay
for in its byte budget and never close; none of them is laid out anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
from traitlets import Dict

STATIC = Path(__file__).parent / "static"


class ProbeWidget(anywidget.AnyWidget):
    """Opened once per kernel, never displayed: its model says hello where widgets run."""

    _esm = STATIC / "probe.js"


class HostWidget(anywidget.AnyWidget):
    """The chat's script and styles, sent once per kernel after a widget host's hello;
    never displayed: loading it offers the answer view to each answer's widget."""

    _esm = STATIC / "chat.js"
    _css = STATIC / "chat.css"


class AnswerWidget(anywidget.AnyWidget):
    """One live answer: its text so far (``payload``), then deltas as custom messages.

    Made before it is known whether its opening fits the answer's byte budget, so the
    comm opens only when :meth:`launch` is called: until then, nothing is sent (ipywidgets
    sends a trait change only on an open comm).
    """

    _esm = STATIC / "answer.js"
    payload = Dict().tag(sync=True)

    def open(self) -> None:
        if getattr(self, "_launched", False):
            super().open()

    def launch(self) -> None:
        """Open the comm now (the ``comm_open`` carries the state)."""
        self._launched = True
        self.open()

    def opening(self) -> dict[str, Any]:
        """The ``comm_open`` content this widget's :meth:`launch` sends, but for its id."""
        return {
            "comm_id": "x" * 32,
            "target_name": "jupyter.widget",
            "data": {"state": self.get_state(), "buffer_paths": []},
            "target_module": None,
        }
