"""Reading recordings, and finding the exchange that answers a request.

A notebook recorded once (:mod:`._write` writes the lines) can then run in CI with no
model and no network, and nbval can compare its outputs — because a replay runs the
:class:`~nbstream.Stream` on the recording's clock (:mod:`._playback`), so even the time
to first token and the rate come out as the same floats.

The match key — what must be equal for a recording to answer a request — is the
model (an in-kernel model by its file name only, so a recording made on one machine
replays on another; recordings store nothing more, though older ones hold the absolute
path), the messages (or the prompt with ``raw``; an image by its content hash), ``raw``,
temperature, max_tokens, seed, stop strings and the JSON-able backend options other
than the model's load options. With a ``replay:PATH`` spec the model is not part of the key. The
endpoint (base URL, key variable, timeout) never is: the same request to a server on
another port is the same exchange. When several recordings match, the latest one wins,
so recording again replaces an answer. Nothing else is ever substituted: no match is an
error naming the closest recorded request and what differs.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from .. import _exceptions
from .._exceptions import NbstreamError, UsageError
from .._stream import How
from .._types import Chunk, Request, Usage
from ._write import FORMAT_VERSION, public_model, public_request

ENDINGS: tuple[How, ...] = get_args(How)


@dataclass(frozen=True)
class Exchange:
    """One recorded exchange, ready to be played back."""

    request: dict[str, Any]
    chunks: tuple[Chunk, ...]
    end: float
    ending: How
    error: dict[str, Any] | None
    source: str

    @property
    def model(self) -> str:
        """The recorded model as shown: an in-kernel model by its file name."""
        return public_model(self.request["backend"], self.request["model"])

    @property
    def spec(self) -> str:
        return f"{self.request['backend']}:{self.model}"

    def failure(self) -> NbstreamError:
        """The recorded error, as the same class with the same sentence."""
        error = self.error or {}
        message = str(error.get("message") or "The recorded stream failed.")
        cls = getattr(_exceptions, str(error.get("type")), None)
        if cls is _exceptions.HTTPStatusError:
            return _exceptions.HTTPStatusError(message, int(error.get("status_code") or 0))
        if isinstance(cls, type) and issubclass(cls, NbstreamError):
            return cls(message)
        return NbstreamError(message)


def key_fields(request: dict[str, Any], *, any_model: bool = False) -> dict[str, Any]:
    """The part of a recorded request that must match (see the module docstring)."""
    options = {k: v for k, v in (request.get("options") or {}).items() if k != "load"}
    backend = request["backend"]
    model = None if any_model else f"{backend}:{public_model(backend, request['model'])}"
    raw = bool(request.get("raw"))
    return {
        "model": model,
        "messages": None if raw else _by_hash(request.get("messages")),
        "prompt": request.get("prompt") if raw else None,
        "raw": raw,
        "temperature": request.get("temperature"),
        "max_tokens": request.get("max_tokens"),
        "seed": request.get("seed"),
        "stop": list(request.get("stop") or ()),
        "options": options,
    }


def _by_hash(messages: Any) -> Any:
    """Messages with each image reduced to its hash: the hash alone decides the match."""
    if not isinstance(messages, list):
        return messages
    return [
        {**m, "images": [i.get("sha256") for i in m["images"]]}
        if isinstance(m, dict) and m.get("images")
        else m
        for m in messages
    ]


def find(sources: Sequence[str], request: Request, *, any_model: bool = False) -> Exchange:
    """The latest recording in ``sources`` that answers ``request``, else a clear error."""
    # Masked like the recorded requests were: a key in the prompt matches, and never shows.
    wanted = key_fields(public_request(request), any_model=any_model)
    wanted_text = _key_text(wanted)
    exchanges = [e for path in sources for e in load(path)]
    for exchange in reversed(exchanges):
        if _key_text(key_fields(exchange.request, any_model=any_model)) == wanted_text:
            return exchange
    where = _where(sources)
    summary = describe(wanted)
    if not exchanges:
        raise NbstreamError(
            f"No recording answers {summary}: {where} holds no exchanges yet; "
            "record them once with --record PATH or $NBSTREAM_RECORD."
        )
    keys = [key_fields(e.request, any_model=any_model) for e in exchanges]
    texts = [_key_text(k) for k in keys]
    closest = difflib.get_close_matches(wanted_text, texts, n=1, cutoff=0.0)
    nearest = keys[texts.index(closest[0])] if closest else keys[-1]
    differs = ", ".join(k for k in wanted if wanted[k] != nearest[k])
    raise NbstreamError(
        f"No recording in {where} answers {summary}; the closest recorded request is "
        f"{describe(nearest)}, which differs in {differs} — record this one with "
        "--record PATH or $NBSTREAM_RECORD, nothing is substituted."
    )


def describe(key: dict[str, Any]) -> str:
    """A request as the user would write it: model, prompt and options, on one line."""
    if key["raw"]:
        text = str(key["prompt"])
    else:
        users = [m["content"] for m in key["messages"] or () if m.get("role") == "user"]
        text = users[-1] if users else ""
    text = " ".join(text.split())
    if len(text) > 48:
        text = text[:47] + "…"
    words = [key["model"]] if key["model"] else []  # no model with replay: specs
    words.append(json.dumps(text, ensure_ascii=False))
    for flag, name in (("-t", "temperature"), ("-n", "max_tokens"), ("--seed", "seed")):
        if key[name] is not None:
            words.append(f"{flag} {key[name]}")
    words += [f"--stop {json.dumps(s, ensure_ascii=False)}" for s in key["stop"]]
    if key["raw"]:
        words.append("--raw")
    if not key["raw"] and len(key["messages"] or ()) > 1:
        words.append(f"({len(key['messages'])} messages)")
    pictures = sum(len(m.get("images") or ()) for m in key["messages"] or ())
    if pictures:
        words.append(f"(+{pictures} image{'s' if pictures > 1 else ''}, matched by hash)")
    if key["options"]:
        words.append(f"options {json.dumps(key['options'], sort_keys=True)}")
    return " ".join(words)


def _key_text(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, ensure_ascii=False)


def _where(sources: Sequence[str]) -> str:
    names = sorted({os.path.basename(path.rstrip(os.sep)) or path for path in sources})
    return " and ".join(names)


def recording_files(source: str) -> list[str]:
    """A recording file, or every ``*.jsonl`` file in a folder (sorted)."""
    if os.path.isdir(source):
        return sorted(
            os.path.join(source, name) for name in os.listdir(source) if name.endswith(".jsonl")
        )
    if not os.path.exists(source):
        raise UsageError(
            f"The recording {source} does not exist; make it once with --record {source} "
            "or $NBSTREAM_RECORD, or check $NBSTREAM_REPLAY."
        )
    return [source]


_CACHE: dict[str, tuple[tuple[int, int], tuple[Exchange, ...]]] = {}


def load(source: str) -> tuple[Exchange, ...]:
    """Every exchange in a file (or folder), in recorded order; re-read when it changes."""
    exchanges: list[Exchange] = []
    for path in recording_files(source):
        stat = os.stat(path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = _CACHE.get(path)
        if cached is None or cached[0] != stamp:
            with open(path, encoding="utf-8") as file:
                cached = (stamp, tuple(_parse_lines(file, path)))
            _CACHE[path] = cached
        exchanges.extend(cached[1])
    return tuple(exchanges)


def _parse_lines(lines: Iterable[str], path: str) -> Iterable[Exchange]:
    name = os.path.basename(path)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if data.get("nbstream") != FORMAT_VERSION or data["ending"] not in ENDINGS:
                raise ValueError("not an nbstream recording")
            chunks = tuple(_chunk(c) for c in data["chunks"])
            request = data["request"]
            str(request["backend"]), str(request["model"])
            yield Exchange(request, chunks, float(data["end"]), data["ending"], data["error"], name)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _exceptions.MalformedStreamError(
                f"Line {number} of the recording {name} cannot be read ({exc}); "
                "remove it or record the exchange again."
            ) from None


def _chunk(data: dict[str, Any]) -> Chunk:
    usage = data.get("usage")
    return Chunk(
        text=data.get("text", ""),
        reasoning=data.get("reasoning", ""),
        finish_reason=data.get("finish_reason"),
        usage=Usage(**usage) if usage is not None else None,
        model=data.get("model"),
        tokens=int(data.get("tokens", 0)),
        at=float(data["t"]),
    )
