"""A local stand-in for Ollama's HTTP API, speaking its NDJSON byte for byte.

No Ollama binary or model can be installed here, so tests need a server that answers
exactly as Ollama does: Go's compact JSON (keys in struct order, ``<>&`` escaped as
``\\u003c``…), one object per line and one HTTP chunk per line, ``done_reason`` and the
nanosecond metrics on the last line, ``{"error": …}`` as a non-200 JSON body before
output and as a line inside the 200 stream after it. ``tests/test_ollama_fake.py`` checks
it with the official ``ollama`` client, so the backend is tested against a proven copy.

Where its details come from (ollama/ollama at 948f693): field order of the last line as in
``docs/api.md`` ("Chat request (Streaming with tools)", final response) and
``docs/api/usage.mdx``; ``application/x-ndjson`` and the error line inside a 200 stream
as in ``docs/api/streaming.mdx`` and ``docs/api/errors.mdx``; the error sentences as
``server/routes.go`` and ``llm/llama_server.go`` word them; ``/api/tags`` entries as in
``docs/api.md`` ("List Local Models"). The answers themselves are scripted, not
recorded; Ollama's published example streams are replayed as they are from
``tests/fixtures`` (see its README).

Models answer from a script: ``tiny`` echoes the last user message, ``thinker`` thinks
(when asked with ``think``) then answers, ``flaky`` breaks off with an error line.
Runs as a fixture (``ollama_fake``) or standalone::

    python -m tests.servers.ollama_fake --port 11434
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from .scripted import Recorded, Script, ScriptedServer

VERSION = "0.12.6"
_NDJSON = (("Content-Type", "application/x-ndjson"),)
_JSON = (("Content-Type", "application/json; charset=utf-8"),)


@dataclass(frozen=True)
class FakeModel:
    """``answer=None`` echoes the prompt; ``thinking=None`` means it cannot think."""

    answer: str | None = None
    thinking: str | None = None
    fail_after: int | None = None
    family: str = "llama"
    size: int = 1_234_567


DEFAULT_MODELS: Mapping[str, FakeModel] = {
    "tiny:latest": FakeModel(),
    "thinker:latest": FakeModel(
        answer="The answer is 4.", thinking="Two plus two makes four.", family="qwen3"
    ),
    "flaky:latest": FakeModel(answer="This answer breaks off right here.", fail_after=3),
}


def go_json(value: Any) -> bytes:
    """JSON as Go's ``encoding/json`` writes it: compact, raw UTF-8, HTML-safe escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text.encode()


def created_at() -> str:
    """Go's RFC 3339 with nanoseconds, trailing zeros trimmed, in UTC."""
    now = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1_000_000_000))
    nanos = f"{now % 1_000_000_000:09d}".rstrip("0")
    return f"{stamp}.{nanos}Z" if nanos else f"{stamp}Z"


def tokens(text: str) -> list[str]:
    """Word-sized pieces (leading space attached), like a tokenizer's output."""
    return re.findall(r"\s*\S+|\s+", text)


class OllamaFake:
    """The fake Ollama server; ``token_delay`` paces the stream (seconds per line)."""

    def __init__(
        self,
        models: Mapping[str, FakeModel] = DEFAULT_MODELS,
        *,
        token_delay: float = 0.0,
        port: int = 0,
    ) -> None:
        self.models = dict(models)
        self.token_delay = token_delay
        self.server = ScriptedServer(self.respond, port=port)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def start(self) -> OllamaFake:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> OllamaFake:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def respond(self, request: Recorded) -> Script:
        route = (request.method, request.path.partition("?")[0])
        if route in (("GET", "/"), ("HEAD", "/")):
            plain = (("Content-Type", "text/plain; charset=utf-8"),)
            return Script(200, plain, [b"Ollama is running"], framing="length")
        if route == ("GET", "/api/version"):
            return _json(200, {"version": VERSION})
        if route == ("GET", "/api/tags"):
            return _json(200, {"models": [self._listing(n, m) for n, m in self.models.items()]})
        if route in (("POST", "/api/chat"), ("POST", "/api/generate")):
            return self._generate(request, chat=route[1] == "/api/chat")
        plain = (("Content-Type", "text/plain"),)
        return Script(404, plain, [b"404 page not found"], framing="length")

    def _listing(self, name: str, model: FakeModel) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-11-03T10:00:00.123456789Z",
            "size": model.size,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": model.family,
                "families": [model.family],
                "parameter_size": "1M",
                "quantization_level": "F16",
            },
        }

    def _generate(self, request: Recorded, *, chat: bool) -> Script:
        try:
            body = request.json()
        except ValueError:
            return _json(400, {"error": "invalid character in request body"})
        name = str(body.get("model") or "")
        if not name:
            return _json(400, {"error": "model is required"})
        full_name = name if ":" in name else f"{name}:latest"
        model = self.models.get(full_name)
        if model is None:
            return _json(404, {"error": f'model "{name}" not found, try pulling it first'})
        think = bool(body.get("think"))
        if think and model.thinking is None:
            return _json(400, {"error": f'"{name}" does not support thinking'})
        options = body.get("options") or {}
        prompt = _prompt_of(body, chat)
        answer, done_reason = _cut(
            tokens(model.answer if model.answer is not None else f"You said: {prompt}"),
            options,
        )
        thoughts = tokens(model.thinking) if think and model.thinking else []
        metrics = {
            "total_duration": 12_345_678,
            "load_duration": 1_234_567,
            "prompt_eval_count": max(1, len(tokens(prompt))),
            "prompt_eval_duration": 2_345_678,
            "eval_count": len(thoughts) + len(answer),
            "eval_duration": 8_765_432,
        }
        reply = _Reply(name, chat, body.get("raw") is True)
        failing = model.fail_after is not None
        if body.get("stream", True) is False:
            if failing:
                return _json(500, {"error": _FAILURE})
            final = reply.line("".join(answer), "".join(thoughts), done_reason, metrics)
            return Script(200, _JSON, [final], framing="length")
        lines = [reply.line("", piece, None, None) for piece in thoughts]
        lines += [reply.line(piece, "", None, None) for piece in answer]
        if failing:
            lines = lines[: len(thoughts) + (model.fail_after or 0)]
            lines.append(go_json({"error": _FAILURE}))
        else:
            lines.append(reply.line("", "", done_reason, metrics))
        pieces: list[bytes | float] = []
        for line in lines:
            if self.token_delay and pieces:
                pieces.append(self.token_delay)
            pieces.append(line if line.endswith(b"\n") else line + b"\n")
        return Script(200, _NDJSON, pieces)


_FAILURE = "an error was encountered while running the model: unexpected EOF"


class _Reply:
    """Builds lines in the field order of Ollama's ChatResponse / GenerateResponse."""

    def __init__(self, model: str, chat: bool, raw: bool) -> None:
        self.model, self.chat, self.raw = model, chat, raw

    def line(
        self,
        text: str,
        thinking: str,
        done_reason: str | None,
        metrics: Mapping[str, int] | None,
    ) -> bytes:
        done = done_reason is not None
        value: dict[str, Any] = {"model": self.model, "created_at": created_at()}
        if self.chat:
            message = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            value["message"] = message
            if done:
                value["done_reason"] = done_reason
            value["done"] = done
        else:
            value["response"] = text
            if thinking:
                value["thinking"] = thinking
            value["done"] = done
            if done:
                value["done_reason"] = done_reason
                if not self.raw:
                    value["context"] = [1, 2, 3]
        value.update(metrics or {})
        return go_json(value)


def _prompt_of(body: Mapping[str, Any], chat: bool) -> str:
    if not chat:
        return str(body.get("prompt") or "")
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""


def _cut(pieces: list[str], options: Mapping[str, Any]) -> tuple[list[str], str]:
    """Apply ``stop`` and ``num_predict`` as Ollama does: ``stop`` or ``length``."""
    for stop in options.get("stop") or []:
        text = "".join(pieces)
        if stop and stop in text:
            return tokens(text[: text.index(stop)]), "stop"
    limit = options.get("num_predict")
    if isinstance(limit, int) and 0 <= limit < len(pieces):
        return pieces[:limit], "length"
    return pieces, "stop"


def _json(status: int, value: Any) -> Script:
    return Script(status, _JSON, [go_json(value)], framing="length")


@pytest.fixture(name="ollama_fake")
def ollama_fake_fixture() -> Iterator[OllamaFake]:
    """A started fake Ollama on an ephemeral port; its address is ``.url``."""
    with OllamaFake() as fake:
        yield fake


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--token-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    with OllamaFake(token_delay=args.token_delay, port=args.port) as fake:
        print(f"fake Ollama listening on {fake.url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()


__all__ = ["DEFAULT_MODELS", "FakeModel", "OllamaFake", "go_json", "ollama_fake_fixture"]
