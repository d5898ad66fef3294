"""Does a front end run Jupyter widgets here? A second hello, beside :mod:`._channel`'s.

nbstream's JupyterLab / Notebook 7 extension says hello on its own comm (:mod:`._channel`)
and live cells then send deltas on a comm per answer. Front ends without that extension
but with Jupyter widgets — VS Code, Colab, JupyterLab or Notebook 7 with ipywidgets only —
answer nothing there, yet can run a widget's script. So, where nbstream is set up
(:func:`._channel.invite`), the kernel also opens one tiny widget per process, the probe
(``probe.ts``, ~200 bytes of script, never displayed), whose model says
``{"kind": "hello", "lab": …}`` as soon as a widget host creates it; ``lab`` tells
whether nbstream's extension is in that page (then it streams the cells, and nothing
happens here).

A hello with ``lab`` false sets :func:`present` and sends the big script once per
kernel: a :class:`~._hostwidgets.HostWidget` (the chat's ``chat.js`` and ``chat.css``,
~740 KB) that is never displayed; loading it registers the answer view under a
versioned global that each answer's small widget waits for (:mod:`._widgetwire`). Why
not one widget per answer carrying the script: ~740 KB per answer is more than the
whole sparse fallback of any answer under ~10,000 tokens. Why not the probe carrying it:
then every kernel would send it, also to nbclient, which stores widget state in the
notebook.

Like the main-shell hello, the probe's hello is a browser → kernel message, handled
between cells (or at once where the front end sends comm messages on a kernel subshell):
in a *Run All* only the cells that start after it use widgets; the others send whole
updates as before. Where nothing renders widgets (nbclient, nbconvert, a terminal) no
hello comes; nbclient does store the probe's state (and its ``Layout``'s) in the executed
notebook's metadata, about 2.5 KB once per notebook.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_present = False
_probe: Any = None
_host: Any = None


def present() -> bool:
    """Whether a widget host without nbstream's extension said hello to this kernel."""
    return _present


def layout() -> Any:
    """The ``Layout`` every nbstream widget shares (the probe's), or None before the probe."""
    return None if _probe is None else _probe.layout


def probe() -> None:
    """Open the probe once per process (the caller checked that this is a kernel)."""
    global _probe
    with _lock:
        if _probe is not None:
            return
        try:
            from ._hostwidgets import ProbeWidget

            _probe = ProbeWidget()
        except Exception:  # no widget support in this kernel: no widget host to find
            return
    _probe.on_msg(_on_hello)


def _on_hello(_widget: Any, content: Any, _buffers: Any) -> None:
    global _present, _host
    if not isinstance(content, dict) or content.get("kind") != "hello":
        return
    if content.get("lab") is True:
        return  # nbstream's extension is there: its own hello (_channel) does the job
    with _lock:
        if _host is not None:
            return
        from ._hostwidgets import HostWidget

        _host = HostWidget(layout=layout())
        _present = True


def reset() -> None:
    """Forget the hello and the widgets (tests)."""
    global _present, _probe, _host
    with _lock:
        _present = False
        _probe = None
        _host = None
