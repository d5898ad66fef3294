"""The ``replay:`` backend: answers from a recording instead of a model.

Two ways in, one playback. ``replay:PATH`` is a spec like any other (the model is not
part of the match, the cell's prompt and options are); ``$NBSTREAM_REPLAY=PATH`` makes
*every* request — each cell, ``generate()``, ``stream()`` — look itself up in the
recording under its own model. PATH is a ``.jsonl`` file or a folder of them.

:func:`route` does the lookup *before* anything is shown, and hands the caller a
request under the recorded model's spec, so the status line and the saved output show
what was recorded, on any machine (an in-kernel model by its file name). With
``$NBSTREAM_REPLAY`` nothing else asks a server either: ``%llm models`` lists the models
the recordings hold (:func:`recorded_models`). Playback yields the recorded chunks with their
offsets (``Chunk.at``), then the recorded end, then ends the way the recording did: the
same error class and sentence, a kernel interrupt, or a Stop.

Pace: instant by default (CI, nbval), or the recorded pace with ``replay:PATH?pace=recorded``
or ``$NBSTREAM_REPLAY_PACE=recorded`` (demos). Waiting uses ``Cancel.wait``, so Stop and
a kernel interrupt end a paced replay at once.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator
from typing import Any
from urllib.parse import parse_qsl

from .._exceptions import UsageError
from .._types import Cancel, Chunk, Request
from ._read import Exchange, describe, find, key_fields, load, recording_files
from ._write import public_request

PACES = ("instant", "recorded")
ENV_REPLAY = "NBSTREAM_REPLAY"
ENV_PACE = "NBSTREAM_REPLAY_PACE"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where recordings come from and how fast to play them."""

    path: str
    pace: str = "instant"
    any_model: bool = False

    def find(self, request: Request) -> Exchange:
        return find([self.path], request, any_model=self.any_model)

    def reads(self, path: str) -> bool:
        """Whether ``path`` is one of the recording files this source plays back."""
        full = os.path.realpath(os.path.expanduser(path))
        return any(os.path.realpath(f) == full for f in recording_files(self.path))


def source_of(request: Request) -> Source | None:
    """The recording that answers ``request``: its ``replay:`` spec, else ``$NBSTREAM_REPLAY``."""
    if request.backend == "replay":
        path, _, query = request.model.partition("?")
        options = dict(parse_qsl(query, keep_blank_values=True))
        pace = options.pop("pace", "instant")
        if options:
            raise UsageError(
                f"Unknown replay option {next(iter(options))!r}; the only one is "
                "?pace=instant|recorded."
            )
        return Source(path, _pace(pace), any_model=True)
    path = os.environ.get(ENV_REPLAY, "").strip()
    if not path:
        return None
    return Source(os.path.abspath(path), _pace(os.environ.get(ENV_PACE) or "instant"))


def _pace(pace: str) -> str:
    if pace not in PACES:
        raise UsageError(f"Unknown replay pace {pace!r}; use instant or recorded.")
    return pace


class Playback:
    """One recorded exchange as a backend: what :func:`route` hands to the Stream."""

    name = "replay"

    def __init__(
        self, exchange: Exchange, pace: str = "instant", source: Source | None = None
    ) -> None:
        self.exchange = exchange
        self.pace = pace
        self.source = source

    @property
    def instant(self) -> bool:
        return self.pace == "instant"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        return play(self.exchange, cancel, paced=not self.instant)

    def models(self, request: Request) -> list[str]:
        return [self.exchange.spec]

    def describe(self, request: Request) -> dict[str, Any]:
        return {"backend": "replay", "recording": self.exchange.source, "pace": self.pace}


def play(
    exchange: Exchange, cancel: Cancel | None = None, *, paced: bool = False
) -> Generator[Chunk, None, None]:
    """Yield the recorded chunks, the recorded end, then end as the recording did."""
    started = time.monotonic()
    for chunk in (*exchange.chunks, Chunk(at=exchange.end)):
        if paced and chunk.at is not None:
            delay = chunk.at - (time.monotonic() - started)
            if delay > 0 and cancel is not None and cancel.wait(delay):
                return
            if delay > 0 and cancel is None:
                time.sleep(delay)
        yield chunk
    if exchange.ending == "error":
        raise exchange.failure()
    if exchange.ending == "interrupt":
        raise KeyboardInterrupt
    if exchange.ending == "stop" and cancel is not None:
        cancel.request()


def route(request: Request) -> tuple[Playback, Request] | None:
    """The playback for ``request`` and the request under the recorded spec, when replaying.

    None when neither a ``replay:`` spec nor ``$NBSTREAM_REPLAY`` applies. A request
    with no recording raises here, before anything is shown.
    """
    source = source_of(request)
    if source is None:
        return None
    exchange = source.find(request)
    shown = dataclasses.replace(request, backend=exchange.request["backend"], model=exchange.model)
    return Playback(exchange, source.pace, source), shown


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


class ReplayBackend:
    """``replay:PATH`` used directly as a backend (``get_backend("replay")``)."""

    name = "replay"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        source = source_of(request)
        if source is None:
            raise UsageError(f"Write replay:PATH or set ${ENV_REPLAY} to replay a recording.")
        exchange = source.find(request)
        yield from play(exchange, cancel, paced=source.pace == "recorded")

    def models(self, request: Request) -> list[str]:
        """The recorded specs in the recording, latest first, each once."""
        source = source_of(request)
        if source is None:
            return []
        specs = [e.spec for e in reversed(load(source.path))]
        return list(dict.fromkeys(specs))

    def describe(self, request: Request) -> dict[str, Any]:
        """Which recording would answer, and the request it is looked up by."""
        source = source_of(request)
        wanted = key_fields(public_request(request), any_model=source is None or source.any_model)
        return {
            "backend": self.name,
            "recording": source.path if source is not None else None,
            "pace": source.pace if source is not None else None,
            "looks_up": describe(wanted),
        }


BACKEND = ReplayBackend()

__all__ = [
    "BACKEND",
    "PACES",
    "Playback",
    "ReplayBackend",
    "Source",
    "play",
    "recorded_models",
    "route",
]
