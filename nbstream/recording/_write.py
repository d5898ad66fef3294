"""Writing recordings: one JSON line per exchange, appended when a stream ends.

A line keeps what a replay needs to be *exactly* what the user saw: the request, every
chunk with the offset (seconds after the request) at which it arrived, the offset at
which the stream ended, and how it ended — done, stopped (``Cancel``), interrupted
(a kernel interrupt), closed by the consumer, or the error's class and sentence.
:func:`recorder` is the :meth:`Stream.on_end <nbstream.Stream.on_end>` callback that does
it; reading and matching them is :mod:`._read`'s job.

Secrets never reach the file: a :class:`Request` holds no key (only the *name* of the
variable), backend options whose names look like credentials (``api_key``,
``headers``…) are dropped, and the values of credential-like environment variables are
masked as ``***`` wherever they appear, in the prompt and in the answer alike. Images
are kept as their content hash, size, type and pixels, never their bytes: a recording
stays small and shows no picture, and a replay matches an image by its hash. The same
masking is applied to a request before it is looked up, so a replay finds it and an
error message never shows the key.

Nor does anything that tells which machine made the recording, since recordings are
committed and shared: an in-kernel model is kept by its file name (the absolute path
holds a home directory; matching uses the name only), and neither the base URL (a host
name, a port) nor the model's load options (this machine's context size, GPU layers,
paths) are kept — the endpoint and load options are not part of the match anyway.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .._exceptions import NbstreamError, UsageError
from .._images import summary
from .._secrets import SECRET_NAME, mask, secret_values
from .._stream import Ending
from .._types import Chunk, Message, Request
from ..backends.python import INTERNAL

FORMAT_VERSION = 1


def prepare(path: str) -> str:
    """Check now that ``path`` can be appended to (creating its folder); return it absolute."""
    full = os.path.abspath(os.path.expanduser(path))
    try:
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(
            f"Cannot write the recording {path} ({exc.strerror or exc}); "
            "give --record or $NBSTREAM_RECORD a writable file."
        ) from None
    return full


def recorder(path: str) -> Callable[[Ending], None]:
    """The ``on_end`` callback that appends a stream's exchange to ``path`` (prepared)."""

    def record(ending: Ending) -> None:
        try:
            append_exchange(path, ending)
        except OSError as exc:
            # Only when nothing else is on its way out: the stream's own ending comes first.
            if ending.how in ("done", "stop"):
                raise NbstreamError(
                    f"Could not append to the recording {path} ({exc.strerror or exc}); "
                    "check the path given to --record or $NBSTREAM_RECORD."
                ) from None

    return record


def append_exchange(path: str, ending: Ending) -> None:
    """Append one exchange as a JSON line."""
    error = ending.error
    # The recorder listens from the stream's start, so every arrival was timed.
    assert ending.offsets is not None, "a recorder must be registered before the stream starts"
    chunks: Sequence[Chunk] = ending.chunks
    if ending.tail is not None:
        chunks = _with_tail(chunks, ending.tail)
    line = {
        "nbstream": FORMAT_VERSION,
        "request": request_dict(ending.request),
        "chunks": [
            _chunk_dict(chunk, at) for chunk, at in zip(chunks, ending.offsets, strict=True)
        ],
        "end": ending.end,
        "ending": ending.how,
        "error": None
        if error is None
        else {
            "type": type(error).__name__,
            "message": error.message,
            "status_code": getattr(error, "status_code", None),
        },
    }
    text = json.dumps(mask(line, secret_values(ending.request)), ensure_ascii=False)
    with open(path, "a", encoding="utf-8") as file:
        file.write(text + "\n")


def _with_tail(chunks: Sequence[Chunk], tail: Chunk) -> list[Chunk]:
    """The chunks as recorded: the released tail joins the last chunk that counted.

    A chunk of its own would count as one more token when replayed; joined to the chunk
    its text (mostly) arrived with, a replay gives the same text, counts and timings.
    """
    for index in range(len(chunks) - 1, -1, -1):
        chunk = chunks[index]
        if chunk.text or chunk.reasoning or chunk.tokens:
            joined = replace(
                chunk, text=chunk.text + tail.text, reasoning=chunk.reasoning + tail.reasoning
            )
            return [*chunks[:index], joined, *chunks[index + 1 :]]
    return list(chunks)  # not reached: held-back text arrived in a chunk that counted


def request_dict(request: Request) -> dict[str, Any]:
    """The request as recorded: everything that shapes the answer, no secrets, no machine."""
    options = {
        key: value
        for key, value in request.options.items()
        if key != "load"
        and key not in INTERNAL  # show()'s stream, a py: function: the user's objects
        and not SECRET_NAME.search(key)
        and _is_json(value)
    }
    return {
        "backend": request.backend,
        "model": public_model(request.backend, request.model),
        "messages": [_message(m) for m in request.messages],
        "prompt": request.prompt,
        "raw": request.raw,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop),
        "options": options,
    }


def _message(message: Message) -> dict[str, Any]:
    """A message as recorded: an image by its hash, size, type and pixels, never its bytes."""
    recorded: dict[str, Any] = message.as_dict()
    if message.images:
        recorded["images"] = [summary(image) for image in message.images]
    return recorded


def public_model(backend: str, model: str) -> str:
    """The model as recorded and shown in a replay: an in-kernel model by its file name.

    Also applied to recordings made before file names were recorded, whose in-kernel
    models are absolute paths from the machine that made them.
    """
    if backend == "llama":
        return os.path.basename(model.split("?", 1)[0])
    return model


def _chunk_dict(chunk: Chunk, at: float) -> dict[str, Any]:
    data: dict[str, Any] = {"t": at}
    if chunk.text:
        data["text"] = chunk.text
    if chunk.reasoning:
        data["reasoning"] = chunk.reasoning
    if chunk.finish_reason is not None:
        data["finish_reason"] = chunk.finish_reason
    if chunk.usage is not None:
        data["usage"] = chunk.usage.as_dict()
    if chunk.model is not None:
        data["model"] = chunk.model
    if chunk.tokens:
        data["tokens"] = chunk.tokens
    return data


def _is_json(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def public_request(request: Request) -> dict[str, Any]:
    """The request as it is recorded and looked up: no secrets, keys masked."""
    masked: dict[str, Any] = mask(request_dict(request), secret_values(request))
    return masked
