"""Is an nbstream front end listening? Known before a cell runs, never asked during one.

Live cells can send only new text (:mod:`._wire`) when nbstream's JupyterLab /
Notebook 7 extension shows them; anywhere else (nbclient, nbconvert, a terminal, a front
end without the extension) they must send whole bundles. The kernel cannot ask the
browser while a cell runs: kernel → browser messages go out at once on IOPub, but a
browser → kernel comm message waits on the shell channel until the cell ends (unless the
front end sends it on a kernel subshell). So presence is a process-wide flag set
*between* cells:

1. When nbstream is set up in a kernel (``%load_ext nbstream``, or the first live
   output), it registers a kernel-side comm target :data:`TARGET` and opens one comm to
   the front-end target of the same name with ``{"kind": "invite", "listens": true}``
   (``listens``: that kernel-side target is there) — a kernel → browser message, fine
   during a cell.
2. nbstream's extension registers that target on every kernel connection (and again
   after a restart, as JupyterLab keeps targets across restarts) and says hello twice:
   ``{"kind": "hello", "version": 1}`` on the invite comm, on the main shell channel —
   sent while ``%load_ext`` runs, it is queued before any cell the user runs after it;
   and, where the kernel has subshells (JEP 91: ipykernel ≥ 7) and the invite
   ``listens`` (an older nbstream in the kernel does not), the same data in a
   ``comm_open`` to the kernel-side target, on a subshell of its own, which the kernel
   handles at once, even while the main shell runs the rest of a *Run All*. (A reply on
   the invite comm cannot take that road: ipykernel routes a comm's replies to the
   shell that opened it, the main one.) A front end without the target closes the
   invite (JupyterLab) or ignores it (nbclient): no hello, no flag. A second hello
   changes nothing.
3. The hello sets :func:`present`. From then on every live output in the process sends
   deltas (plus a small status) on a comm per answer, and the final bundle as an
   ordinary ``update_display_data``. An answer that started while a hello could still
   come (:func:`awaiting_hello`: within :data:`HELLO_WAIT` of the invite) switches to
   deltas when it does (:mod:`._wire`).

What follows from this (and is said in the README):

- "Run All" queues every cell before the main-shell hello comes back; the subshell
  hello arrives within a few milliseconds anyway, so the cells after ``%load_ext`` use
  deltas (the first of them maybe from its first fraction of a second on). A kernel
  without subshells gets only the main-shell hello: cells already queued when
  ``%load_ext`` ran use the fallback (sparse full updates); the next run uses deltas.
- A restarted kernel is a new process: no flag until ``%load_ext`` invites again.
- The flag says "an nbstream front end said hello to this kernel", not which tabs are
  open. Every tab's extension receives each answer's comm (IOPub goes to every
  connection); a view that joins mid-answer or misses a delta shows what its output
  holds until the final bundle, which every front end gets. A front end without the
  extension attached to a kernel a nbstream front end greeted (rare: two kinds of
  client on one kernel) shows the start of the answer, then the final answer.
- No hello is ever needed for correctness: the final bundle is always the whole answer.
- Front ends that run Jupyter widgets but not this extension say a hello of their own,
  through a tiny widget opened here too (:mod:`._widgethost`).

Why this shape: ipywidgets and anywidget open their comms the same way (kernel first,
front-end target, front end answers on the comm). The browser opens a comm to the
kernel-side target only after an invite, which the kernel sends after registering it:
opened at connect time it would log "No such comm target" in every kernel that never
loads nbstream.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

TARGET = "nbstream"
VERSION = 1
HELLO_WAIT = 2.0
"""Seconds after the invite during which a hello may still come on a subshell."""

_lock = threading.Lock()
_present = False
_invited = False
_invite_comm: Any = None
_invited_at = 0.0


def present() -> bool:
    """Whether an nbstream front end has said hello to this kernel process."""
    return _present


def awaiting_hello() -> bool:
    """No hello yet, but one may come on a subshell: the invite went out moments ago.

    A front end with subshells answers within milliseconds; after :data:`HELLO_WAIT`
    none is coming before this cell ends (no nbstream front end, or a kernel whose only
    hello waits behind queued cells).
    """
    return (
        not _present and _invite_comm is not None and (time.monotonic() - _invited_at < HELLO_WAIT)
    )


def invite() -> None:
    """Open the invite comm once per process (a no-op outside a kernel)."""
    global _invited, _invite_comm, _invited_at
    with _lock:
        if _invited:
            return
        _invited = True
    if not _in_kernel():
        return
    # Before the invite, which says so: the browser may open a comm to it at once.
    listens = _listen()
    comm = open_comm({"kind": "invite", "version": VERSION, "listens": listens})
    if comm is not None:
        comm.on_msg(_on_hello)
        _invited_at = time.monotonic()
        _invite_comm = comm
    # And the widget hosts' hello, where the extension is absent (VS Code, Colab, …).
    from . import _widgethost

    _widgethost.probe()


def open_comm(data: dict[str, Any]) -> Any:
    """A comm to the front-end :data:`TARGET` carrying ``data``, or None outside a kernel."""
    if not _in_kernel():
        return None
    from comm import create_comm

    try:
        return create_comm(target_name=TARGET, data=data)
    except Exception:  # a kernel without comm support: no front end to greet
        return None


def _listen() -> bool:
    """Register the kernel-side target the front end's subshell hello opens a comm to."""
    try:
        from comm import get_comm_manager

        get_comm_manager().register_target(TARGET, _on_open)
    except Exception:  # a kernel without comm support: no hello on a subshell
        return False
    return True


def _on_open(comm: Any, msg: dict[str, Any]) -> None:
    """A comm the front end opened (on a subshell): its data is the hello."""
    _on_hello(msg)


def _on_hello(msg: dict[str, Any]) -> None:
    global _present
    data = msg.get("content", {}).get("data", {})
    if isinstance(data, dict) and data.get("kind") == "hello":
        _present = True


def _in_kernel() -> bool:
    with contextlib.suppress(ImportError):
        from IPython import get_ipython

        shell = get_ipython()
        return getattr(shell, "kernel", None) is not None
    return False


def reset() -> None:
    """Forget the hello and the invite (tests)."""
    global _present, _invited, _invite_comm
    with _lock:
        _present = False
        _invited = False
        _invite_comm = None
