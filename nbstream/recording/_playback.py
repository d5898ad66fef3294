"""The ``replay`` backend: answers from a recording instead of a model.

Two ways in, one backend. ``replay:PATH`` is a spec like any other (the model is not
part of the match, the cell's prompt and options are); ``$NBSTREAM_REPLAY=PATH`` makes
*every* request — each cell, ``generate()``, ``stream()`` — look itself up in the
recording under its own model. PATH is a ``.jsonl`` file or a folder of them.
:func:`~._route.route` looks the exchange up (:func:`lookup`) before anything is shown
and hands the Stream a :class:`Replay` bound to it.

A replay keeps its own time: :meth:`Replay.clock` reads 0.0, then the recorded offset
of each chunk as it is played, then the recorded end. The Stream is given that clock
instead of the wall clock, so it computes the recorded time to first token, rate and
elapsed time with its usual arithmetic, bit for bit. Replayed chunks also carry their
recorded offset in ``Chunk.at``, for whoever iterates them; the Stream does not read it.
After the last chunk the playback ends the way the recording did: the same error class
and sentence, a kernel interrupt, or a Stop.

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


def lookup(request: Request) -> Replay | None:
    """The replay bound to the exchange that answers ``request``; None when not replaying.

    A request with no recording raises here, before anything is shown.
    """
    source = source_of(request)
    if source is None:
        return None
    return Replay(source.find(request), source)


class Replay:
    """The ``replay`` backend: one recorded exchange, played back on the recording's clock.

    :func:`lookup` binds one to an exchange (one per stream: it keeps the clock). The
    unbound :data:`BACKEND` (``get_backend("replay")``) lists a ``replay:`` spec's
    recordings for ``%llm models``, describes the lookup for ``--dry-run``, and looks
    the exchange up itself when asked to stream.
    """

    name = "replay"

    def __init__(self, exchange: Exchange | None = None, source: Source | None = None) -> None:
        self.exchange = exchange
        self.source = source
        self._now = 0.0

    @property
    def instant(self) -> bool:
        """Whether the whole answer is there at once (no recorded pace to keep)."""
        return self.source is None or self.source.pace == "instant"

    def clock(self) -> float:
        """The recording's time: 0.0, then each played chunk's offset, then the recorded end."""
        return self._now

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        """Yield the recorded chunks, reach the recorded end, then end as the recording did."""
        if self.exchange is None:  # unbound: look the exchange up now, play it on its own
            bound = lookup(request)
            if bound is None:
                raise UsageError(f"Write replay:PATH or set ${ENV_REPLAY} to replay a recording.")
            yield from bound.stream(request, cancel)
            return
        exchange = self.exchange
        started = time.monotonic()
        for chunk in exchange.chunks:
            if chunk.at is not None:
                if not self._wait_until(chunk.at, started, cancel):
                    return
                self._now = chunk.at
            yield chunk
        if not self._wait_until(exchange.end, started, cancel):
            return
        self._now = exchange.end
        if exchange.ending == "error":
            raise exchange.failure()
        if exchange.ending == "interrupt":
            raise KeyboardInterrupt
        if exchange.ending == "stop" and cancel is not None:
            cancel.request()

    def _wait_until(self, offset: float, started: float, cancel: Cancel | None) -> bool:
        """At the recorded pace, sleep until ``offset``; False if a Stop came first."""
        delay = offset - (time.monotonic() - started)
        if self.instant or delay <= 0:
            return True
        if cancel is not None:
            return not cancel.wait(delay)
        time.sleep(delay)
        return True

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


BACKEND = Replay()
