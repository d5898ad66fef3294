"""nbstream: LLM answers that stream live into Jupyter, from any backend.

``%load_ext nbstream`` registers ``%%llm`` / ``%llm`` (also as ``%%nbstream``). The
Python API is ``generate()`` (live in the cell, returns a :class:`Response`),
``stream()`` (chunks, no display) and ``chat()`` (the chat widget). Everything public is
re-exported here from private modules; ``__all__`` is the whole public surface (a test
keeps it honest).
"""

from __future__ import annotations

from importlib.metadata import version as _version
from typing import Any

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
from ._generate import generate, stream
from ._response import Response
from ._stream import Stream
from ._types import Cancel, Chunk, Message, Request, Usage
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
    "stream",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbstream``: register the magics; invite nbstream's front end (deltas)."""
    from ._channel import invite
    from ._magic import LLMMagics

    ipython.register_magics(LLMMagics)
    invite()


def unload_ipython_extension(ipython: Any) -> None:
    """Nothing to undo beyond IPython's own bookkeeping."""


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where Jupyter finds the prebuilt JupyterLab extension (``nbstream/labextension``)."""
    return [{"src": "labextension", "dest": "nbstream"}]
