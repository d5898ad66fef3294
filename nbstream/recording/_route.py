"""Routing: which backend answers a request, on which clock, and where it is recorded.

Every generation — a cell, ``generate()``, ``stream()``, a chat turn — is opened through
:func:`route` (by :func:`nbstream._generate.open_stream` and ``show_live``), so replay
and recording apply the same way everywhere:

* a ``replay:`` spec or ``$NBSTREAM_REPLAY`` answers from a recording: the exchange is
  looked up *now*, before anything is shown, and the request is shown under the
  recorded model's spec (an in-kernel model by its file name), on any machine;
* anything else goes to the live backend named by the spec;
* ``record=`` (``--record``), else ``$NBSTREAM_RECORD``, names the file the exchange is
  appended to when the stream ends. A replayed exchange goes only to the caller's own
  ``record`` file, and only if it is not a file being replayed: a notebook that records
  a cell and reads the file back runs the same under replay, and recordings are never
  copied into themselves on every run.

The same module answers the two other questions replay changes: what ``%llm models``
lists (:func:`recorded_models`: the recordings', no server asked) and which model a
cell that names none uses (:func:`default_spec`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from .._specs import DEFAULT_PROVIDERS, DEMO_FILE
from .._stream import Stream
from .._types import Cancel, Request
from ..backends import Backend, get_backend
from ._playback import ENV_REPLAY, lookup, source_of
from ._read import load
from ._write import prepare, recorder

ENV_RECORD = "NBSTREAM_RECORD"


@dataclasses.dataclass(frozen=True)
class Route:
    """Who answers a request, and how its :class:`Stream` is opened.

    ``request`` is the request as shown (under the recorded spec when replaying);
    ``clock`` is the time the Stream reads (the recording's when replaying); ``record``
    is the prepared file the exchange is appended to, if any. ``instant`` is true for an
    instant replay: the whole answer is there at once, so there is no live phase to show
    (only the final bundle, which is what nbval compares).
    """

    backend: Backend
    request: Request
    clock: Callable[[], float] = time.perf_counter
    record: str | None = None
    instant: bool = False

    def open(
        self, *, cancel: Cancel | None = None, on_chunk: Callable[[], object] | None = None
    ) -> Stream:
        """The Stream for this route, its exchange recorded when it ends if asked to."""
        stream = Stream(
            self.backend, self.request, cancel=cancel, on_chunk=on_chunk, clock=self.clock
        )
        if self.record is not None:
            stream.on_end(recorder(self.record))
        return stream


def route(request: Request, record: str | None = None) -> Route:
    """The route for ``request``: a recording or the live backend, and where to record.

    Raises (before anything is shown) when a replay has no recording for the request or
    the record file cannot be written.
    """
    replay = lookup(request)
    if replay is not None:
        assert replay.exchange is not None and replay.source is not None
        shown = dataclasses.replace(
            request, backend=replay.exchange.request["backend"], model=replay.exchange.model
        )
        keep = record if record and not replay.source.reads(record) else None
        return Route(
            replay,
            shown,
            clock=replay.clock,
            record=prepare(keep) if keep else None,
            instant=replay.instant,
        )
    path = record or os.environ.get(ENV_RECORD) or None
    return Route(get_backend(request.backend), request, record=prepare(path) if path else None)


def recorded_models(request: Request) -> list[str] | None:
    """Under ``$NBSTREAM_REPLAY``, the models recorded for ``request``'s backend, latest first.

    ``%llm models`` shows these instead of asking the server, so a replayed notebook
    needs no network. None when not replaying (or for a ``replay:`` spec, whose backend
    lists its recordings itself).
    """
    if request.backend == "replay":
        return None
    source = source_of(request)
    if source is None:
        return None
    names = [
        e.model for e in reversed(load(source.path)) if e.request["backend"] == request.backend
    ]
    return list(dict.fromkeys(names))


def default_spec() -> str | None:
    """Under ``$NBSTREAM_REPLAY``, the spec of a request that names no model; else None.

    It is the demo model by its file name: replay matches in-kernel models by file name
    and loads nothing, so a notebook recorded with the demo model replays with no model —
    the demo package is not even imported (its first use writes the 253 MB file).
    """
    if os.environ.get(ENV_REPLAY):
        return f"llama:{DEMO_FILE}"
    return None


# Under $NBSTREAM_REPLAY, a cell that names no model gets the demo model by its file name.
DEFAULT_PROVIDERS.append(default_spec)
