"""nbstream: LLM answers that stream live into Jupyter, from any backend.

``%load_ext nbstream`` registers ``%%llm`` / ``%llm`` (also as ``%%nbstream``). The
Python API is ``generate()`` (live in the cell, returns a :class:`Response`),
``stream()`` (chunks, no display), ``show()`` (a stream the user already holds, live)
and ``chat()`` (the chat widget). Everything public is
re-exported here from private modules; ``__all__`` is the whole public surface (a test
keeps it honest).

``Chat`` and ``chat`` are imported on first use: they bring in anywidget, ipywidgets and
comm, which ``import nbstream`` and ``%%llm`` never need (see :class:`_Package`).
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    BackendUnavailable,
    ConnectError,
    HTTPStatusError,
    Interrupted,
    MalformedStreamError,
    ModelNotFound,
    NbstreamError,
    StreamError,
    StreamTimeout,
    UsageError,
)
from ._generate import generate, show, stream
from ._response import Response
from ._stream import Stream
from ._types import Cancel, Chunk, Message, Request, Usage

if TYPE_CHECKING:
    from .chat import Chat, chat

# One number for the package and its JupyterLab extension: labextension/package.json's,
# which the build writes into the package metadata (hatch-nodejs-version).
__version__ = _version("nbstream")

__all__ = [
    "BackendUnavailable",
    "Cancel",
    "Chat",
    "Chunk",
    "ConnectError",
    "HTTPStatusError",
    "Interrupted",
    "MalformedStreamError",
    "Message",
    "ModelNotFound",
    "NbstreamError",
    "Request",
    "Response",
    "Stream",
    "StreamError",
    "StreamTimeout",
    "Usage",
    "UsageError",
    "__version__",
    "chat",
    "generate",
    "load_ipython_extension",
    "show",
    "stream",
    "unload_ipython_extension",
]


_LAZY = frozenset({"Chat", "chat"})


class _Package(types.ModuleType):
    """This package's module type: ``nbstream.chat`` stays the function.

    The function ``chat`` shares its name with the subpackage ``nbstream.chat``, and
    importing a subpackage (``from nbstream.chat import …``, or the first use below) sets
    it as an attribute of its parent. An eager ``from .chat import chat`` rebound the name
    right after; imported lazily, the function is put there instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "chat" and isinstance(value, types.ModuleType):
            value = value.chat
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if not TYPE_CHECKING:  # type checkers see the imports above, not an open __getattr__

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            package = importlib.import_module(".chat", __name__)
            globals().update(Chat=package.Chat, chat=package.chat)
            return globals()[name]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbstream``: register the magics; invite nbstream's front end (deltas);
    record cells' errors for ``{Err[n]}`` (:mod:`._context`)."""
    from ._channel import invite
    from ._context import install
    from ._magic import LLMMagics

    ipython.register_magics(LLMMagics)
    install(ipython)
    invite()


def unload_ipython_extension(ipython: Any) -> None:
    """Stop recording errors; the rest is IPython's own bookkeeping."""
    from ._context import uninstall

    uninstall(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where Jupyter finds the prebuilt JupyterLab extension (``nbstream/labextension``)."""
    return [{"src": "labextension", "dest": "nbstream"}]
