"""One exception tree for everything that can go wrong, each with a one-sentence message.

Every message says what happened and what to do, because it is all the user sees: in a
notebook these exceptions render as a single line (``_render_traceback_``), never as a
traceback. Messages never contain an API key: backends build them from the request's
public parts only, and what a server said (it may echo the key) is masked by the
:class:`~nbstream._stream.Stream` before anyone sees it. The Stream is the one place that
knows a generation's secrets, so it makes the user-facing error there, once, rather than
every backend threading the secrets into every error: when masking changes the message,
a new error of the same class and fields, which never chains back to the unmasked one.

An error that reports an exception raised by the user's own code (a function named as
the model, a stream given to ``show()``) names it in its one line and chains it as
``__cause__``: ``err.__cause__`` (or ``sys.last_value.__cause__`` after a failed cell) is
the user's exception, and ``%tb`` shows its traceback — the first rendering of such an
error is the one line, any later one (which is what ``%tb`` asks for) the traceback.

An error raised by ``generate()`` or ``%%llm`` carries the answer as it stood when it
ended (``.response``: the partial text, the timings, the status); elsewhere ``.response``
is ``None``.

    NbstreamError
    ├── UsageError              bad option, bad spec, unknown alias, no default model
    ├── BackendUnavailable      an optional dependency (llama-cpp-python) is missing
    ├── ModelNotFound           the backend does not have that model
    ├── ConnectError            could not reach the server
    ├── StreamTimeout           nothing arrived within the timeout
    ├── HTTPStatusError         the server answered 4xx/5xx before streaming
    ├── StreamError             the server reported an error inside the stream
    └── MalformedStreamError    data that does not parse (bad JSON, endless line)

    KeyboardInterrupt
    └── Interrupted             generation stopped by a kernel interrupt

``Interrupted`` is a ``KeyboardInterrupt`` on purpose: a stopped cell must stop "Run
All" and scripts the way Ctrl-C does, and ``except Exception`` must not swallow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ._response import Response

_E = TypeVar("_E", bound="NbstreamError")


class NbstreamError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""

    message: str
    response: Response | None
    user_code = False  # True: __cause__ is an exception from the user's own code
    _rendered = False

    def __init__(self, message: str, *, response: Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response

    def _with_message(self: _E, message: str) -> _E:
        """This error (same class, same fields) saying ``message`` instead: a new object.

        The copy chains to what the original was caused by, never to the original itself,
        so a traceback cannot show the message it replaces.
        """
        error = type(self).__new__(type(self), message)
        error.__dict__.update(self.__dict__)
        error.message = message
        error.__cause__ = self.__cause__
        error.__suppress_context__ = True
        return error

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of a traceback.
        line = f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self.message}"
        cause = self.__cause__
        if self.user_code and self._rendered and cause is not None:
            return [*_traceback_lines(cause), line]  # %tb: where the user's code raised
        self._rendered = True
        return [line]


def _traceback_lines(error: BaseException) -> list[str]:
    """``error``'s traceback as IPython formats it (plain text outside IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            lines: list[str] = shell.InteractiveTB.structured_traceback(
                type(error), error, error.__traceback__
            )
            return lines
    except Exception:  # fall back to the standard format below
        pass
    import traceback

    return "".join(traceback.format_exception(error)).splitlines()


class UsageError(NbstreamError):
    """The user asked for something malformed: fix the cell and run it again."""


class BackendUnavailable(NbstreamError):
    """The backend needs a package that is not installed."""


class ModelNotFound(NbstreamError):
    """The backend does not have the requested model."""


class ConnectError(NbstreamError):
    """The server could not be reached (refused, DNS, TLS, reset before any answer)."""


class StreamTimeout(NbstreamError):
    """The server stopped sending for longer than the timeout."""


class HTTPStatusError(NbstreamError):
    """The server answered with an HTTP error status."""

    status_code: int

    def __init__(self, message: str, status_code: int, *, response: Response | None = None) -> None:
        super().__init__(message, response=response)
        self.status_code = status_code


class StreamError(NbstreamError):
    """The server reported an error in the middle of the stream."""


class MalformedStreamError(NbstreamError):
    """The stream carried data nbstream cannot parse."""


class Interrupted(KeyboardInterrupt):
    """Generation was stopped on purpose; what streamed is kept (``.response``)."""

    message: str
    response: Response | None

    def __init__(self, message: str, *, response: Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;33mInterrupted\x1b[0m: {self.message}"]


__all__ = [
    "BackendUnavailable",
    "ConnectError",
    "HTTPStatusError",
    "Interrupted",
    "MalformedStreamError",
    "ModelNotFound",
    "NbstreamError",
    "StreamError",
    "StreamTimeout",
    "UsageError",
]
