"""The ``py`` backend: a stream the user already holds, or a Python function, as a source.

``show(stream)`` and a function named as the model (``py:NAME``, ``model=fn``) end up
here, as one more backend over a :class:`~nbstream._types.Request`, so the
:class:`~nbstream.Stream`, the live output, the chat, recording and replay treat them
like any other: the request carries the user's object in its options (:data:`SOURCE`
for ``show()``, :data:`FUNCTION` for a function, which :mod:`nbstream._request` looked
up in the notebook's namespace when it built the request). Each item of the stream
becomes a :class:`~nbstream._types.Chunk` through :class:`~nbstream._shapes.ShapeReader`.

How the user's code is read — in which thread, how a stop reaches it, how it is closed,
how its exceptions become errors — is :mod:`._sources`.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any

from ..._exceptions import UsageError
from ..._types import Cancel, Chunk, Request
from ._sources import (
    ACCEPTS,
    Aside,
    Here,
    Steps,
    Stopped,
    await_result,
    close_source,
    read,
    reader_now,
    user_error,
)

FUNCTION = "function"
"""The request option that carries the function a ``py:`` model names (not recorded), or
the :class:`UsageError` saying why ``py:NAME`` names none (raised when it would be called)."""
SOURCE = "source"
"""The request option that carries the iterable ``show()`` was given (not recorded)."""
INTERNAL = frozenset({FUNCTION, SOURCE})


def options_for(request: Request) -> dict[str, Any]:
    """What a function that takes ``options`` receives: what the request set, no more."""
    options: dict[str, Any] = {
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop) or None,
        "raw": request.raw or None,
    }
    options.update((k, v) for k, v in request.options.items() if k not in INTERNAL)
    options.pop("load", None)
    return {k: v for k, v in options.items() if v is not None}


def takes_options(function: Callable[..., Any]) -> bool:
    """Whether ``function`` accepts an ``options`` keyword (by name, or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == "options" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


class PythonBackend:
    """The ``py`` backend: reads :data:`SOURCE`, or calls :data:`FUNCTION` and reads its result."""

    name = "py"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk | str, None, None]:
        if SOURCE in request.options:
            # show() of a plain iterable in the main thread: its reader is the only frame
            # between the user's code and the Stream (each frame costs every chunk).
            reader = reader_now(request.options[SOURCE], f"py:{request.model}")
            if reader is not None:
                return reader
        return self._stream(request, cancel)

    def _stream(
        self, request: Request, cancel: Cancel | None
    ) -> Generator[Chunk | str, None, None]:
        cancel = cancel or Cancel()
        name = f"py:{request.model}"
        steps = Here() if threading.current_thread() is threading.main_thread() else Aside()
        try:
            if SOURCE in request.options:
                source = request.options[SOURCE]
            else:
                function = request.options.get(FUNCTION)
                if isinstance(function, UsageError):  # py:NAME unbound when the request was built
                    raise function
                if not callable(function):
                    raise UsageError(
                        f"{name} names no function; bind one in the notebook "
                        "(def NAME(messages): …) or pass the callable as model=."
                    )
                source = _call(function, request, steps, cancel, name)
                if source is None:
                    raise UsageError(f"{name} returned None; return {ACCEPTS}.")
            yield from read(source, steps, cancel, name)
        except Stopped:
            return
        finally:
            steps.shutdown()

    def models(self, request: Request) -> list[str]:
        """Nothing to list: any callable in the notebook is a model (``py:NAME``)."""
        return []

    def describe(self, request: Request) -> dict[str, Any]:
        """What ``--dry-run`` shows: the call that would be made (an unbound name says so)."""
        function = request.options.get(FUNCTION)
        if isinstance(function, UsageError):
            raise function
        passes = "messages, options=…" if function and takes_options(function) else "messages"
        return {"backend": self.name, "calls": f"{request.model}({passes})"}


def _call(
    function: Callable[..., Any], request: Request, steps: Steps, cancel: Cancel, name: str
) -> Any:
    messages = [m.as_dict() for m in request.messages]
    if takes_options(function):
        options = options_for(request)
        result = steps.run(lambda: function(messages, options=options), cancel, name)
    else:
        result = steps.run(lambda: function(messages), cancel, name)
    if inspect.isawaitable(result):
        result = await_result(result, cancel, name)
    return result


BACKEND = PythonBackend()

__all__ = [
    "ACCEPTS",
    "BACKEND",
    "FUNCTION",
    "INTERNAL",
    "SOURCE",
    "PythonBackend",
    "close_source",
    "options_for",
    "takes_options",
    "user_error",
]
