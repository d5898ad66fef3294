"""The ``ollama:`` backend: Ollama's native API, one JSON object per line (NDJSON).

The native API rather than Ollama's ``/v1``, because it takes ``raw`` prompts and every
stream ends with ``done_reason`` and token counts (thinking arrives apart from the
answer in both). The details that decide the shape:

* ``$OLLAMA_HOST`` is read the way the ``ollama`` CLI and Python client read it:
  ``host``, ``host:port`` or a full URL, default scheme ``http`` and port ``11434``.
  ``0.0.0.0`` (a *listening* address people put there for the server) is dialled as
  ``127.0.0.1``, which works on every OS.
* An error *before* output is a non-200 JSON ``{"error": …}``: "model not found" becomes
  :class:`ModelNotFound` saying ``ollama pull MODEL``. An error *after* output started
  is an ``{"error": …}`` line inside the 200 response, raised after the chunks before
  it were yielded, so the caller keeps the partial answer.
* Lines are read by :class:`~nbstream._decoders.NDJSONDecoder`, split on bytes, never by
  ``str.splitlines`` (which breaks on U+2028 inside JSON strings), and the last line
  counts even without ``\\n``. A bad line raises only after the good ones before it
  have been delivered.
* The content type is a hint, as for the official client, which ignores it: some
  Ollama-compatible servers label the stream ``text/plain``. A body whose first line is
  a JSON object is read whatever its type; only then is a non-NDJSON type refused, with
  the sentence for a wrong address (an HTML page is refused at once).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx

from .. import _images
from .._decoders import BadLine, NDJSONDecoder
from .._exceptions import (
    MalformedStreamError,
    NbstreamError,
    StreamError,
    UsageError,
)
from .._json import as_count, as_dict, as_opt_str, as_str
from .._types import Cancel, Chunk, Image, Message, Request, Usage
from . import _http, _http_errors

DEFAULT_HOST = "http://localhost:11434"
DEFAULT_PORT = 11434
_URL_HINT = "--base-url or $OLLAMA_HOST"
_PASSED_THROUGH = ("think", "keep_alive", "format")  # Ollama fields taken from options


class OllamaBackend:
    """Chat (``/api/chat``) or raw completion (``/api/generate``), streamed as NDJSON."""

    name = "ollama"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        call = _generation_call(request)
        on_status = _model_missing(request.model, call)
        with _http.open_response(call, cancel, on_status) as response:
            media = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if "html" in media:
                seen = _http.read_body(response, call)[:4096]
                raise _not_ollama(media, seen, call)
            # Another type is read when its first line is JSON (see the docstring).
            trusted = media in ("application/x-ndjson", "application/json", "")
            for line in _lines(response, call, cancel, _bad_line(call, media, trusted)):
                chunk = _chunk(line, request.raw)
                if chunk is not None:
                    yield chunk
                    if chunk.finish_reason is not None:
                        return

    def models(self, request: Request) -> list[str]:
        call = _http.Call("GET", host(request) + "/api/tags", timeout=request.endpoint.timeout)
        answer = _http.get_json(call)
        models = answer.get("models") if isinstance(answer, dict) else None
        if not isinstance(models, list):
            raise MalformedStreamError(
                f"{_http_errors.safe_url(call.url)} did not answer with a list of models; "
                f"check that {_URL_HINT} points at Ollama."
            )
        names = (m.get("name") or m.get("model") for m in models if isinstance(m, dict))
        return sorted(str(name) for name in names if name)

    def describe(self, request: Request) -> dict[str, Any]:
        return _generation_call(request, _images.placeholder).describe()


def host(request: Request) -> str:
    """``--base-url``, else ``$OLLAMA_HOST``, else ``http://localhost:11434``."""
    given = request.endpoint.base_url or os.environ.get("OLLAMA_HOST", "")
    return parse_host(given) if given.strip() else DEFAULT_HOST


def parse_host(given: str) -> str:
    """``host``, ``host:port``, ``:port`` or a URL -> ``scheme://host:port[/path]``."""
    given = given.strip()
    scheme, sep, rest = given.partition("://")
    if not sep:
        scheme, rest, port = "http", given, DEFAULT_PORT
    else:
        scheme = scheme.lower()
        port = 443 if scheme == "https" else 80
    parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
    name = parts.hostname or "127.0.0.1"
    if name in ("0.0.0.0", "::"):  # a listening address: dial loopback instead
        name = "127.0.0.1" if name == "0.0.0.0" else "::1"
    if ":" in name:
        name = f"[{name}]"
    try:
        port = parts.port or port
    except ValueError:
        raise UsageError(
            f"The Ollama address {given!r} has an invalid port; write it as host:port "
            f"(for example localhost:11434) in {_URL_HINT}."
        ) from None
    path = parts.path.rstrip("/")
    return f"{scheme}://{name}:{port}{path}"


def _generation_call(
    request: Request, encode: Callable[[Image], str] = lambda image: image.base64
) -> _http.Call:
    """The request; ``encode`` writes each image (``--dry-run`` shows a placeholder)."""
    body: dict[str, Any] = {"model": request.model}
    if request.raw:
        _images.refuse_raw(request)
        path = "/api/generate"
        body["prompt"] = request.prompt
        body["raw"] = True
    else:
        path = "/api/chat"
        messages = [_message(m, encode) for m in request.messages]
        body["messages"] = messages or [{"role": "user", "content": request.prompt}]
    body["stream"] = True
    options: dict[str, Any] = {}
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.seed is not None:
        options["seed"] = request.seed
    if request.stop:
        options["stop"] = list(request.stop)
    if options:
        body["options"] = options
    for key in _PASSED_THROUGH:
        if key in request.options:
            body[key] = request.options[key]
    return _http.Call(
        "POST",
        host(request) + path,
        body=body,
        timeout=request.endpoint.timeout,
        url_hint=_URL_HINT,
        images=_images.count(request.messages),
    )


def _message(message: Message, encode: Callable[[Image], str]) -> dict[str, Any]:
    """A message as Ollama takes it: images as a list of base64 strings beside the text."""
    sent: dict[str, Any] = message.as_dict()
    if message.images:
        sent["images"] = [encode(image) for image in message.images]
    return sent


def _model_missing(model: str, call: _http.Call) -> _http_errors.StatusHook:
    def explain(status: int, detail: str) -> NbstreamError | None:
        # Ollama says 'model "x" not found, try pulling it first'; a 404 from
        # something that is not Ollama (a wrong port) gets the generic message.
        if _http_errors.names_missing_model(status, detail):
            return _http_errors.model_not_found(
                f"Ollama at {_http_errors.safe_url(call.url)}",
                model,
                f"run `ollama pull {model}` or pick one from `%llm models`",
            )
        return None

    return explain


def _not_ollama(media: str, seen: bytes, call: _http.Call) -> MalformedStreamError:
    detail = _http_errors.error_detail(seen, media, None)
    return MalformedStreamError(
        f"{_http_errors.safe_url(call.url)} answered with {media}, not Ollama's "
        f"stream{f' ({detail!r})' if detail else ''}; check that {_URL_HINT} points "
        "at Ollama (port 11434 by default)."
    )


def _lines(
    response: httpx.Response, call: _http.Call, cancel: Cancel | None, bad_line: BadLine
) -> Iterator[dict[str, Any]]:
    """The stream's JSON objects; the last line counts even without its newline."""
    decoder = NDJSONDecoder(objects=True, bad_line=bad_line)
    for data in _http.iter_body(response, call, cancel):
        for line in decoder.decode(data):
            if cancel is not None and cancel.requested:
                return  # one read can hold many lines: stop between them too
            yield line
    if cancel is None or not cancel.requested:
        yield from decoder.flush()


def _bad_line(call: _http.Call, media: str, trusted: bool) -> BadLine:
    def explain(text: str, started: bool) -> MalformedStreamError:
        if not (trusted or started):
            return _not_ollama(media, text.encode(), call)
        # The first line decides between a wrong address and a stream that broke.
        advice = (
            "the text before it is kept — try again, or check `ollama serve`'s log"
            if started
            else f"check that {_URL_HINT} points at Ollama"
        )
        return MalformedStreamError(
            f"{_http_errors.safe_url(call.url)} sent a line that is not a JSON object "
            f"({_http_errors.excerpt(text, None, limit=60)!r}); {advice}."
        )

    return explain


def _chunk(line: dict[str, Any], raw: bool) -> Chunk | None:
    error = line.get("error")
    if error:
        detail = _http_errors.excerpt(_http_errors.message_in(error) or str(error), None)
        raise StreamError(
            f"Ollama reported an error mid-stream ({detail.rstrip('.')}); the text before "
            "it is kept — try again, or check `ollama serve`'s log."
        )
    if raw:
        text = as_str(line.get("response"))
        reasoning = as_str(line.get("thinking"))
    else:
        message = as_dict(line.get("message"))
        text = as_str(message.get("content"))
        reasoning = as_str(message.get("thinking"))
    finish_reason = usage = None
    if line.get("done") is True:
        finish_reason = as_opt_str(line.get("done_reason")) or "stop"
        usage = _usage(line)
    if not (text or reasoning or finish_reason):
        return None
    return Chunk(
        text=text,
        reasoning=reasoning,
        finish_reason=finish_reason,
        usage=usage,
        model=as_opt_str(line.get("model")),
    )


def _usage(line: dict[str, Any]) -> Usage | None:
    prompt = as_count(line.get("prompt_eval_count"))
    completion = as_count(line.get("eval_count"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


BACKEND = OllamaBackend()

__all__ = ["BACKEND", "DEFAULT_HOST", "OllamaBackend", "host", "parse_host"]
