"""The ``openai:`` backend: any server that speaks OpenAI's completions API over SSE.

That is OpenAI itself, and also llama.cpp's and llama-cpp-python's servers, vLLM,
Ollama's ``/v1``, LM Studio and most proxies, so the parser is lenient where they
differ and strict where silence would lose text:

* chunks may carry ``delta.content`` (a string, or Mistral's list of ``text`` and
  ``thinking`` parts), reasoning as ``delta.reasoning_content`` (DeepSeek, llama.cpp) or
  ``delta.reasoning`` (vLLM), a ``delta.refusal`` (OpenAI; shown as the answer), a
  ``finish_reason``, or only ``usage`` (``choices: []``; Groq: ``x_groq.usage``) —
  role-only chunks and empty ``data:`` keep-alives yield nothing;
* ``[DONE]``, or the end of the body without it, ends the answer; a last event whose
  closing blank line never came is still read, because servers forget it;
* an error inside the stream (``data: {"error": …}``, vLLM's ``{"object": "error"}``,
  ``event: error``, or llama.cpp's ``error: {…}`` line) is raised *after* the chunks
  before it were yielded, so the caller keeps the partial answer;
* a server that ignores ``stream`` and answers one JSON completion still works;
* ``stream_options`` (which asks for token counts) can be left out with the backend
  option ``stream_options=False``, for gateways that refuse it with a 400.

Transport, stopping and error sentences come from :mod:`._http`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Generator, Iterator
from typing import Any, Final

import httpx

from .. import _images
from .._decoders import ServerSentEvent, SSEDecoder
from .._exceptions import MalformedStreamError, NbstreamError, StreamError, UsageError
from .._json import as_count, as_dict, as_opt_str, as_str
from .._types import Cancel, Chunk, Image, Message, Request, Usage
from . import _http, _http_errors

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
_URL_HINT = "--base-url or $OPENAI_BASE_URL"
_STREAM_OPTIONS_OFF = "stream_options=False (or %config LLMMagics.stream_options = False)"


class OpenAIBackend:
    """Chat (``/chat/completions``) or raw (``/completions``) streaming over SSE."""

    name = "openai"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        call = _generation_call(request)
        on_status = _model_missing(request.model, call)
        with _http.open_response(call, cancel, on_status) as response:
            kind = _body_kind(response, call)
            if kind == "json":
                yield _one_answer(_http.read_body(response, call), call, request.raw)
                return
            started = False  # a server that sent good data is the right one
            for event in _events(response, call, cancel):
                chunk = _parse_event(event, call, request.raw, started)
                started = started or (event.event == "message" and bool(event.data.strip()))
                if isinstance(chunk, Chunk):
                    yield chunk
                elif chunk is _DONE:
                    return

    def models(self, request: Request) -> list[str]:
        call = _call(request, "GET", "/models")
        answer = _http.get_json(call)
        items = answer.get("data", answer.get("models")) if isinstance(answer, dict) else answer
        if not isinstance(items, list):
            raise MalformedStreamError(
                f"{_http_errors.safe_url(call.url, call.secret)} did not answer with a list of "
                f"models; check that {_URL_HINT} points at an OpenAI-compatible API."
            )
        names = (
            item.get("id") or item.get("name") if isinstance(item, dict) else item for item in items
        )
        return sorted(str(name) for name in names if name)

    def describe(self, request: Request) -> dict[str, Any]:
        return _generation_call(request, _images.placeholder).describe()


def base_url(request: Request) -> str:
    """``--base-url``, else ``$OPENAI_BASE_URL``, else OpenAI's own API."""
    url = request.endpoint.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    return url.strip().rstrip("/")


def api_key(request: Request) -> tuple[str | None, str]:
    """The key and the name of the variable it comes from (no key is fine locally)."""
    name = request.endpoint.api_key_env
    if name:
        value = os.environ.get(name, "").strip()
        if not value:
            raise UsageError(
                f"The variable ${name} named by --api-key-env is not set; set it to your "
                "API key, or leave out --api-key-env."
            )
        return value, name
    return os.environ.get(DEFAULT_KEY_ENV, "").strip() or None, DEFAULT_KEY_ENV


def _call(request: Request, method: str, path: str, body: Any = None) -> _http.Call:
    key, key_env = api_key(request)
    headers = {"Accept": "text/event-stream"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    sent_options = isinstance(body, dict) and "stream_options" in body
    return _http.Call(
        method,
        base_url(request) + path,
        body=body,
        headers=headers,
        timeout=request.endpoint.timeout,
        secret=key,
        key_env=key_env,
        url_hint=_URL_HINT,
        optional_fields={"stream_options": _STREAM_OPTIONS_OFF} if sent_options else {},
    )


def _generation_call(
    request: Request, image_url: Callable[[Image], str] = Image.data_uri
) -> _http.Call:
    """The request; ``image_url`` writes each image (``--dry-run`` shows a placeholder)."""
    body: dict[str, Any] = {"model": request.model}
    if request.raw:
        _images.refuse_raw(request)
        path = "/completions"
        body["prompt"] = request.prompt
    else:
        path = "/chat/completions"
        messages = [_message(m, image_url) for m in request.messages]
        body["messages"] = messages or [{"role": "user", "content": request.prompt}]
    body["stream"] = True
    stream_options = request.options.get("stream_options", True)
    if isinstance(stream_options, dict):
        body["stream_options"] = stream_options
    elif stream_options:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.seed is not None:
        body["seed"] = request.seed
    if request.stop:
        body["stop"] = list(request.stop)
    return dataclasses.replace(
        _call(request, "POST", path, body), images=_images.count(request.messages)
    )


def _message(message: Message, image_url: Callable[[Image], str]) -> dict[str, Any]:
    """A message as the API takes it: with images, content is a list of typed parts."""
    if not message.images:
        return message.as_dict()
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    parts += [
        {"type": "image_url", "image_url": {"url": image_url(image)}} for image in message.images
    ]
    return {"role": message.role, "content": parts}


def _body_kind(response: httpx.Response, call: _http.Call) -> str:
    content_type = response.headers.get("content-type", "")
    media = content_type.partition(";")[0].strip().lower()
    if media == "text/event-stream" or not media:
        return "sse"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    seen = _http_errors.error_detail(_http.read_body(response, call)[:4096], media, call.secret)
    raise MalformedStreamError(
        f"{_http_errors.safe_url(call.url, call.secret)} answered with {media} instead of an event "
        f"stream{f' ({seen!r})' if seen else ''}; check that {_URL_HINT} points at the "
        "API root (for example http://localhost:8000/v1)."
    )


def _model_missing(model: str, call: _http.Call) -> _http_errors.StatusHook:
    def explain(status: int, detail: str) -> NbstreamError | None:
        if _http_errors.names_missing_model(status, detail):
            return _http_errors.model_not_found(
                _http_errors.safe_url(call.url, call.secret),
                model,
                "check the name, or pick one from `%llm models`",
            )
        return None

    return explain


def _events(
    response: httpx.Response, call: _http.Call, cancel: Cancel | None
) -> Iterator[ServerSentEvent]:
    # llama.cpp's server wrote mid-stream errors as an `error: {json}` line (its
    # server_sent_event(sink, "error", …)), which a standard parser drops.
    decoder = SSEDecoder(event_fields=("error",))
    for data in _http.iter_body(response, call, cancel):
        for event in decoder.decode(data):
            if cancel is not None and cancel.requested:
                return  # one read can hold many events: stop between them too
            yield event
    if cancel is None or not cancel.requested:
        # The body ended: dispatch a last event whose closing blank line never came.
        yield from decoder.flush(dispatch=True)


class _Done:
    """Marks ``data: [DONE]``."""


_DONE: Final = _Done()


def _parse_event(
    event: ServerSentEvent, call: _http.Call, raw: bool, started: bool = False
) -> Chunk | _Done | None:
    if event.event == "error":
        raise _stream_error(_loads_or_text(event.data), call)
    if event.event != "message":
        return None  # vendor events (pings, metadata) carry no answer
    data = event.data
    if not data.strip():
        return None  # an empty `data:` keep-alive from a proxy
    if data.startswith("[DONE]"):
        return _DONE
    try:
        payload = json.loads(data)
    except ValueError:
        raise _malformed(data, call, started) from None
    if not isinstance(payload, dict):
        raise _malformed(data, call, started)
    if payload.get("error") or payload.get("object") == "error":  # vLLM's ErrorResponse
        raise _stream_error(payload, call)
    return _chunk(payload, raw, delta_key="delta")


def _chunk(payload: dict[str, Any], raw: bool, delta_key: str) -> Chunk | None:
    text = reasoning = ""
    finish_reason = None
    choices = payload.get("choices")
    if choices and isinstance(choices, list):
        choice = as_dict(choices[0])
        finish_reason = as_opt_str(choice.get("finish_reason"))
        if raw:
            text = as_str(choice.get("text"))
        else:
            delta = as_dict(choice.get(delta_key))
            text, reasoning = _content(delta.get("content"))
            reasoning += as_str(delta.get("reasoning_content")) or as_str(delta.get("reasoning"))
            text += as_str(delta.get("refusal"))  # a refusal is the whole answer
    usage = _usage(payload.get("usage")) or _usage(as_dict(payload.get("x_groq")).get("usage"))
    if not (text or reasoning or finish_reason or usage):
        return None
    return Chunk(
        text=text,
        reasoning=reasoning,
        finish_reason=finish_reason,
        usage=usage,
        model=as_opt_str(payload.get("model")),
    )


def _content(value: Any) -> tuple[str, str]:
    """``content`` as (text, reasoning): a string, or a list of typed parts.

    Mistral's reasoning models stream ``[{"type": "thinking", "thinking": [{"type":
    "text", "text": …}]}, {"type": "text", "text": …}]`` (its client's ThinkChunk and
    TextChunk); parts of other types (references, images) carry no text to show.
    """
    if isinstance(value, str):
        return value, ""
    if not isinstance(value, list):
        return "", ""
    reasoning = ""
    for part in map(as_dict, value):
        if part.get("type") == "thinking":
            thinking = part.get("thinking")
            reasoning += thinking if isinstance(thinking, str) else _texts(thinking)
    return _texts(value), reasoning


def _texts(parts: Any) -> str:
    """The ``text`` of the ``{"type": "text"}`` parts in a list; other parts have none."""
    if not isinstance(parts, list):
        return ""
    return "".join(
        as_str(part.get("text")) for part in map(as_dict, parts) if part.get("type") == "text"
    )


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, dict):
        return None
    prompt = value.get("prompt_tokens")
    completion = value.get("completion_tokens")
    return Usage(prompt_tokens=as_count(prompt), completion_tokens=as_count(completion))


def _one_answer(body: bytes, call: _http.Call, raw: bool) -> Chunk:
    """A server that ignored ``stream: true`` and sent the whole completion at once."""
    text = body.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError:
        raise _malformed(text, call) from None
    if not isinstance(payload, dict):
        raise _malformed(text, call)
    if payload.get("error"):
        raise _stream_error(payload, call)
    return _chunk(payload, raw, delta_key="message") or Chunk()


def _loads_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _stream_error(payload: Any, call: _http.Call) -> StreamError:
    detail = _http_errors.excerpt(_http_errors.message_in(payload) or "no details", call.secret)
    url = _http_errors.safe_url(call.url, call.secret)
    if _http_errors.is_context_overflow(detail):
        return StreamError(
            f"{url} reported that the prompt does not fit the model's context "
            f"({detail.rstrip('.')}); {_http_errors.CONTEXT_ADVICE}."
        )
    return StreamError(
        f"{url} reported an error mid-stream ({detail.rstrip('.')}); the text before it is "
        "kept — try again, or check the server's log."
    )


def _malformed(data: str, call: _http.Call, started: bool = False) -> MalformedStreamError:
    """Not JSON: a wrong URL's answer, or, once good events came, a broken stream."""
    snippet = _http_errors.excerpt(data, call.secret, limit=80)
    url = _http_errors.safe_url(call.url, call.secret)
    if started:
        return MalformedStreamError(
            f"{url} sent an event that is not JSON in the middle of the answer ({snippet!r}); "
            "the text before it is kept — try again, or check the server's log."
        )
    return MalformedStreamError(
        f"{url} sent data that is not JSON ({snippet!r}); check that {_URL_HINT} points at "
        "an OpenAI-compatible API."
    )


BACKEND = OpenAIBackend()

__all__ = ["BACKEND", "DEFAULT_BASE_URL", "OpenAIBackend", "api_key", "base_url"]
