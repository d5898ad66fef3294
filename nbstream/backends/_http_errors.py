"""Failures of the HTTP backends, each told in one sentence the user can act on.

A notebook user sees nothing but this sentence (no traceback), so it names the URL,
what went wrong and what to do, and it is the only place that decides how to say so:
both backends share it, which keeps the wording the same for the same fault.

Text that comes from outside (a server's error body, an OS error, a URL typed by the
user) passes through :func:`excerpt` or :func:`~nbstream._secrets.safe_url` before it
is shown: clipped to one short line, with the API key replaced by ``***`` — servers do
echo the ``Authorization`` header back — and with credentials and key-like query values
removed from URLs.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from .._exceptions import (
    ConnectError,
    HTTPStatusError,
    MalformedStreamError,
    ModelNotFound,
    NbstreamError,
    StreamError,
    StreamTimeout,
    UsageError,
)
from .._secrets import redact, safe_url
from ._call import Call

_ERROR_BODY_LIMIT = 64 * 1024
_EXCERPT_CHARS = 200

StatusHook = Callable[[int, str], NbstreamError | None]
"""Lets a backend explain a status its own way: ``(status, excerpt) -> error or None``."""

CONTEXT_ADVICE = (
    "shorten the prompt or the conversation, or use a model or server with a larger "
    "context (llama.cpp's server: --ctx-size N)"
)
"""What to do when the prompt does not fit, whether the server says so in a status or
mid-stream (llama.cpp: "request (N tokens) exceeds the available context size";
OpenAI and vLLM: "This model's maximum context length is N tokens")."""

_CONTEXT_OVERFLOW = re.compile(r"context (size|length|window)|exceed_context_size", re.I)
_MODEL_MISSING = re.compile(r"not found|does not exist|doesn't exist|unknown model", re.I)


def is_context_overflow(detail: str) -> bool:
    """Whether a server's own words say the prompt is longer than the model's context."""
    return bool(_CONTEXT_OVERFLOW.search(detail))


def names_missing_model(status: int, detail: str) -> bool:
    """A 404 whose words say the *model* is unknown (not a wrong URL's bare 'Not Found').

    Ollama: 'model "x" not found, try pulling it first'; OpenAI: 'The model `x` does not
    exist or you do not have access to it.'; vLLM: 'The model `x` does not exist.'.
    """
    return status == 404 and "model" in detail.lower() and bool(_MODEL_MISSING.search(detail))


def model_not_found(server: str, model: str, fix: str) -> ModelNotFound:
    """The one sentence for an unknown model, whichever backend's server says so."""
    return ModelNotFound(f"{server} does not have the model {model!r}; {fix}.")


def translate(exc: httpx.HTTPError, call: Call, *, streaming: bool) -> NbstreamError:
    """One sentence for an httpx failure; ``streaming`` means the answer had begun."""
    url = safe_url(call.url, call.secret)
    reason = _reason(exc, call.secret)
    if isinstance(exc, httpx.ConnectTimeout):
        seconds = call.limits.connect
        return ConnectError(
            f"Could not connect to {url} within {seconds:g} s; check that the server is "
            f"running and reachable, or set {call.url_hint}."
        )
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(
            f"Could not connect to {url} ({reason}); check that the server is running, "
            f"or set {call.url_hint}."
        )
    if isinstance(exc, httpx.TimeoutException):
        seconds = call.limits.read
        if streaming:
            return StreamTimeout(
                f"The stream from {url} stalled for {seconds:g} s; the text so far is kept "
                "— try again, or allow longer silences with --timeout."
            )
        return StreamTimeout(
            f"{url} sent no answer for {seconds:g} s; the server may be busy or still "
            "loading the model — try again, or allow longer with --timeout."
        )
    if isinstance(exc, httpx.DecodingError):
        return MalformedStreamError(
            f"{url} sent a body that could not be decoded ({reason}); check that the "
            "server or a proxy in between is not mangling the response."
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UsageError(f"{url!r} is not a usable http(s) URL; fix {call.url_hint}.")
    if streaming:
        return StreamError(
            f"The connection to {url} broke mid-stream ({reason}); the text so far is "
            "kept — try again."
        )
    return ConnectError(
        f"{url} closed the connection without answering ({reason}); check that "
        f"{call.url_hint} points at the right server and port."
    )


_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("getaddrinfo failed", "host name not found"),
    ("certificate_verify_failed", "TLS certificate not trusted"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "no route to host"),
    ("reset by peer", "connection reset"),
    ("incomplete chunked read", "the body ended early"),
    ("without sending complete message body", "the body ended early"),
    ("server disconnected", "the server disconnected"),
)


def _reason(exc: BaseException, secret: str | None) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    for needle, reason in _REASONS:
        if needle in lowered:
            return reason
    return excerpt(text, secret, limit=120)


def status_error(
    response: httpx.Response, call: Call, on_status: StatusHook | None = None
) -> NbstreamError:
    """Read (a bounded part of) an error response and explain it in one sentence."""
    status = response.status_code
    body = _read_some(response, _ERROR_BODY_LIMIT)
    detail = error_detail(body, response.headers.get("content-type", ""), call.secret)
    if on_status is not None:
        special = on_status(status, detail)
        if special is not None:
            return special
    url = safe_url(call.url, call.secret)
    phrase = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    said = f" ({detail.rstrip('.')})" if detail else ""
    head = f"{url} answered HTTP {status} {phrase}".rstrip() + said
    return HTTPStatusError(f"{head}; {_advice(status, response, call, detail)}.", status)


def _advice(status: int, response: httpx.Response, call: Call, detail: str) -> str:
    if status in (401, 403):
        if call.key_env is None:
            return "the server wants credentials nbstream cannot send — check its settings"
        if call.secret:
            return f"check the API key in ${call.key_env} (or name another with --api-key-env)"
        return f"no API key was sent — set ${call.key_env} (or name another with --api-key-env)"
    if status == 404:
        return f"check the model name and that {call.url_hint} points at the API root"
    if status == 429:
        wait = response.headers.get("retry-after", "").strip()
        if wait.isdigit():
            return f"the server is rate limiting you — wait {wait} s and try again"
        if wait:
            return f"the server is rate limiting you — wait until {excerpt(wait, None)}"
        return "the server is rate limiting you — wait a little and try again"
    if status >= 500:
        return "the server failed — check its log, or try again later"
    if status < 400:
        where = response.headers.get("location")
        target = f" to {safe_url(where, call.secret)}" if where else ""
        return f"it redirects{target} — set {call.url_hint} to the final address"
    if is_context_overflow(detail):
        return f"the prompt is longer than the model's context — {CONTEXT_ADVICE}"
    for name, how in call.optional_fields.items():
        if name in detail:
            return f"the server does not accept {name} — leave it out with {how}"
    if call.images:
        noun = "an image" if call.images == 1 else f"{call.images} images"
        return (
            f"the server rejected the request, which carried {noun} — check that the model "
            "takes images (a vision model), or take the image out"
        )
    advice = "the server rejected the request — check the model name and the options"
    for name, how in call.optional_fields.items():
        advice += f"; if it refuses {name}, leave it out with {how}"
    return advice


def _read_some(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    with contextlib.suppress(httpx.HTTPError):
        for piece in response.iter_bytes():
            data += piece
            if len(data) >= limit:
                break
    return bytes(data[:limit])


def error_detail(body: bytes, content_type: str, secret: str | None) -> str:
    """The server's own words from an error body, short and with the key redacted.

    Understands ``{"error": {"message": …}}`` (OpenAI), ``{"error": "…"}`` (Ollama,
    llama.cpp), ``{"detail": …}`` (FastAPI, also its list of validation errors),
    ``{"message": …}``, an HTML page's title, and plain text.
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return ""
    with contextlib.suppress(ValueError, RecursionError):
        found = message_in(json.loads(text))
        if found:
            return excerpt(found, secret)
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return excerpt(text, secret)


def message_in(value: Any) -> str:
    """The human-readable message inside a parsed error payload, or ``""``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(filter(None, (message_in(item) for item in value[:3])))
    if isinstance(value, dict):
        for key in ("error", "detail", "message", "msg"):
            if value.get(key):
                return message_in(value[key])
    return ""


def excerpt(text: str, secret: str | None, limit: int = _EXCERPT_CHARS) -> str:
    """Outside text made safe for a message: one line, clipped, key replaced by ``***``."""
    text = " ".join(redact(text, secret).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


__all__ = [
    "CONTEXT_ADVICE",
    "StatusHook",
    "error_detail",
    "excerpt",
    "is_context_overflow",
    "message_in",
    "model_not_found",
    "names_missing_model",
    "redact",
    "safe_url",
    "status_error",
    "translate",
]
