"""Backends: each one turns a :class:`~nbstream._types.Request` into chunks.

A backend is a small class with one generator method, ``stream(request, cancel)``, plus
``models(request)`` for ``%llm models`` and ``describe(request)`` for ``--dry-run``.
The generator must release what it holds (HTTP response, model lock) in ``finally``, so
that closing it or a ``KeyboardInterrupt`` raised inside it stops the server too.
Backends are imported lazily by name so that a missing optional dependency only
matters to the user who asks for that backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator
from typing import Any, Protocol

from .._exceptions import UsageError
from .._types import Cancel, Chunk, Request

# The one table of backends: the name a spec starts with (``ollama:…``) → its module,
# imported on first use (replay lives with the rest of recording). Spec parsing reads
# the names from here (``_specs.BACKENDS``).
BACKEND_MODULES = {
    "openai": "nbstream.backends.openai",
    "ollama": "nbstream.backends.ollama",
    "llama": "nbstream.backends.llamacpp",
    "replay": "nbstream.recording._playback",
    "py": "nbstream.backends.python",  # a Python function, or show()'s stream
}


class Backend(Protocol):
    """What every backend provides."""

    name: str

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk | str, None, None]:
        """Yield chunks of new text until the answer ends; clean up in ``finally``.

        A plain ``str`` stands for ``Chunk(text=...)`` (the py backend's strings: no
        chunk is built unless a consumer takes one, see :meth:`~nbstream.Stream.drive`).
        """
        ...

    def models(self, request: Request) -> list[str]:
        """Names of the models this backend offers at the request's endpoint."""
        ...

    def describe(self, request: Request) -> dict[str, Any]:
        """What would be sent, for ``--dry-run``: never includes a secret."""
        ...


def get_backend(name: str) -> Backend:
    """The backend registered under ``name`` (``openai``, ``ollama``, ``llama``, ``py``…)."""
    module_name = BACKEND_MODULES.get(name)
    if module_name is None:
        known = ", ".join(sorted(BACKEND_MODULES))
        raise UsageError(f"Unknown backend {name!r}; use one of {known}.")
    module = importlib.import_module(module_name)
    backend: Backend = module.BACKEND
    return backend
