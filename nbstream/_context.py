"""``{In[n]}``, ``{Out[n]}``, ``{Err[n]}`` and ``{Err.last}``: the notebook's cells as names.

The questions asked in a notebook are about the notebook — "why did cell 7 fail?",
"improve the code in cell 3" — so a prompt can name a cell by its execution count, the
number in its ``[n]`` label. :func:`names` gives three objects that the prompt's
interpolation (:mod:`._prompt`) looks up before the user's namespace: only literal
integer subscripts and plain attributes are read, and nothing is evaluated.

- ``In[n]`` is the cell's source as the user typed it (IPython's raw input history, so
  a ``%%time`` cell reads as written, not as the Python it was transformed into).
- ``Out[n]`` is its result as IPython keeps it (the ``Out`` cache): a value, which then
  becomes text (or an image) like any other.
- ``Err[n]`` is the error the cell raised, and ``Err.last`` the most recent one: the
  exception's type, message and traceback as plain text, the way the notebook showed
  it (IPython's own traceback formatter, or the exception's ``_render_traceback_``), with
  the terminal colour codes removed.

IPython keeps inputs and results but, before 9.x, not errors. So loading the extension
registers a ``post_run_cell`` event hook that records each failed cell's error as text,
by execution count, as the cell ends. Only the text is kept: holding the exception would
keep its frames, and every local variable in them, alive. What this covers:

- every cell that fails after ``%load_ext nbstream`` (the loading cell included), with
  any IPython;
- a cell that failed *before* the extension was loaded, when IPython records errors
  itself (``history_manager.exceptions``, IPython 9); with an older IPython, asking for
  it says so in one sentence;
- ``Err.last`` always: without a recorded error it falls back to the last error Python
  itself kept (``sys.last_value``), which IPython sets for every error it shows.

A count that does not exist, a cell with no result, a cell that did not fail: each is a
:class:`~._exceptions.UsageError` with one sentence, so nothing is sent.
"""

from __future__ import annotations

import re
import sys
import traceback
import weakref
from collections.abc import Sequence
from typing import Any

from ._exceptions import UsageError

# Colour and style (CSI … m and friends) and hyperlinks (OSC 8) that terminals and the
# notebook's ANSI renderer read; text for a model carries neither.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences."""
    return _ANSI.sub("", text)


class _Log:
    """One shell's recorded errors, ``{execution count: text}``, from ``since`` on."""

    def __init__(self, since: int) -> None:
        self.since = since
        self.errors: dict[int, str] = {}
        self.hook: Any = None


_LOGS: weakref.WeakKeyDictionary[Any, _Log] = weakref.WeakKeyDictionary()


def install(shell: Any) -> None:
    """Start recording ``shell``'s errors (``%load_ext``); loading again changes nothing."""
    log = _LOGS.get(shell)
    if log is None:
        # The cell running now (the one loading the extension) is recorded too.
        log = _LOGS[shell] = _Log(since=len(shell.history_manager.input_hist_raw) - 1)
    if log.hook is None:
        # The log (a value of a weak-keyed dict) must not hold its shell alive.
        owner = weakref.ref(shell)

        def record(result: Any) -> None:
            current = owner()
            if current is not None:
                _record(current, log, result)

        log.hook = record
        shell.events.register("post_run_cell", record)


def uninstall(shell: Any) -> None:
    """Stop recording (``%unload_ext``); what was recorded stays for a later load."""
    log = _LOGS.get(shell)
    if log is not None and log.hook is not None:
        shell.events.unregister("post_run_cell", log.hook)
        log.hook = None


def _record(shell: Any, log: _Log, result: Any) -> None:
    error = result.error_before_exec or result.error_in_exec
    count = result.execution_count
    if error is None or count is None or not result.info.store_history:
        return
    log.errors[count] = format_error(shell, error, before_exec=result.error_before_exec is error)


def format_error(shell: Any, error: BaseException, *, before_exec: bool = False) -> str:
    """``error`` as the notebook showed it, as plain text."""
    try:
        if isinstance(error, SyntaxError) or before_exec:
            # Raised while compiling the cell: its traceback is IPython's, not the cell's.
            lines = traceback.format_exception_only(type(error), error)
        elif hasattr(error, "_render_traceback_"):
            lines = error._render_traceback_()
        else:
            lines = shell.InteractiveTB.structured_traceback(
                type(error), error, error.__traceback__
            )
    except Exception:  # a traceback that cannot be formatted still has a type and message
        lines = traceback.format_exception_only(type(error), error)
    return _plain(lines)


def _plain(lines: Sequence[str]) -> str:
    """Traceback lines (with or without their newlines) as one plain text."""
    return strip_ansi("\n".join(line.rstrip("\n") for line in lines)).strip("\n")


def names(shell: Any) -> dict[str, Any]:
    """``In``, ``Out`` and ``Err`` for a prompt's interpolation in ``shell``."""
    return {"In": _Inputs(shell), "Out": _Outputs(shell), "Err": _Errors(shell)}


class _Cells:
    """What the three names share: execution counts, and no text of their own."""

    NAME = ""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def _ran(self, n: int) -> bool:
        return 0 < n < len(self.shell.history_manager.input_hist_raw)

    def _no_such_cell(self, n: int) -> UsageError:
        latest = len(self.shell.history_manager.input_hist_raw) - 1
        return UsageError(
            f"{{{self.NAME}[{n}]}}: no cell has run with execution count {n} in this kernel "
            f"session (the latest is {latest}); use the number in the cell's [n] label."
        )

    def __str__(self) -> str:
        raise UsageError(
            f"{{{self.NAME}}} needs a cell's execution count: write {{{self.NAME}[3]}} "
            "for the cell labelled [3]."
        )


class _Inputs(_Cells):
    NAME = "In"

    def __getitem__(self, n: int) -> str:
        if not self._ran(n):
            raise self._no_such_cell(n)
        return str(self.shell.history_manager.input_hist_raw[n])


class _Outputs(_Cells):
    NAME = "Out"

    def __getitem__(self, n: int) -> Any:
        results = self.shell.history_manager.output_hist
        if n in results:
            return results[n]
        if not self._ran(n):
            raise self._no_such_cell(n)
        raise UsageError(
            f"Cell {n} has no result in Out (it printed, displayed or returned nothing, or "
            "ended with ;); name the value itself, e.g. {df}."
        )


class _Errors(_Cells):
    NAME = "Err"

    def _known(self) -> dict[int, str]:
        """Recorded errors, and those IPython kept itself (IPython 9) for earlier cells."""
        kept = getattr(self.shell.history_manager, "exceptions", None) or {}
        known = {n: _plain(error.get("traceback") or []) for n, error in kept.items()}
        log = _LOGS.get(self.shell)
        known.update(log.errors if log is not None else {})
        return known

    def __getitem__(self, n: int) -> str:
        known = self._known()
        if n in known:
            return known[n]
        if not self._ran(n):
            raise self._no_such_cell(n)
        log = _LOGS.get(self.shell)
        if log is not None and n < log.since:
            raise UsageError(
                f"Cell {n} ran before nbstream was loaded, so its error was not recorded; "
                "run the cell again, or use {Err.last}."
            )
        raise UsageError(
            f"Cell {n} did not fail; {{Err[n]}} is the error a cell raised (check the "
            "number, or use {Err.last} for the most recent error)."
        )

    @property
    def last(self) -> str:
        known = self._known()
        if known:
            return known[max(known)]
        error = getattr(sys, "last_value", None)
        if isinstance(error, BaseException):
            return format_error(self.shell, error)
        raise UsageError("No cell has failed in this kernel session, so {Err.last} is empty.")
