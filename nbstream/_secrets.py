"""Which strings are secrets, and masking them wherever text leaves nbstream.

A key can come back from the other side: a proxy that reflects the Authorization header
in its error, a toy server that echoes the request into the answer, a model told the key
in its prompt. So besides never *sending* a key anywhere but the Authorization header,
everything nbstream shows or writes — answers, reasoning, errors, recordings — is masked
against the values of credential-like environment variables (and the variable named by
``--api-key-env``). Values that cannot be keys (short, with spaces, paths) are left
alone so that ordinary text is never masked by accident.

A streamed answer is masked once, as it arrives (:class:`StreamMasker`, used by
:class:`~nbstream.Stream`): a key split across two chunks must not show its first half
before the second arrives, so the end of the text that could still become a key is held
back — the way stop strings are — and every consumer (the live cell, ``stream()``
chunks, the chat widget, recordings) only ever sees masked text. When the stream ends
the held-back tail is released; if it is at least :data:`MIN_LENGTH` characters of a
key's beginning (a key cut off by an interrupt or an error), it is masked too.

Which *names* hold credentials (:data:`SECRET_NAME`) and how a URL is shown
(:func:`safe_url`) are decided here too, once, for every module that needs them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from ._holdback import partial_start
from ._types import Chunk, Request

MASK = "***"
# The one test of a *name* that may hold a credential: an environment variable (its
# value is masked), a backend option (left out of recordings), a URL's query parameter
# (its value hidden in messages): ``sig`` covers Azure's and S3's signature parameters.
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|credential|header|cookie|sig", re.I)
MIN_LENGTH = 8  # shorter values are not taken for keys; nor are shorter pieces of one


def _looks_secret(value: str) -> bool:
    return (
        len(value) >= MIN_LENGTH
        and not any(c.isspace() for c in value)
        and not value.startswith("/")
    )


def secret_values(request: Request | None = None) -> list[str]:
    """Values to mask, longest first (so a key containing another is masked whole)."""
    names = {name for name in os.environ if SECRET_NAME.search(name)}
    if request is not None and request.endpoint.api_key_env:
        names.add(request.endpoint.api_key_env)
    values = {os.environ.get(name, "") for name in names}
    return sorted((v for v in values if _looks_secret(v)), key=len, reverse=True)


def mask(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (a string, or JSON-like data) with every secret replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, secrets) for v in value]
    return value


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (one known key) replaced by ``***``."""
    return text.replace(secret, MASK) if secret else text


def safe_url(url: str, secret: str | None = None) -> str:
    """``url`` fit for a message: no user or password, no key-like query values.

    The one URL sanitizer: every message, ``--dry-run`` and error that shows a URL
    passes it through here.
    """
    import httpx  # here, not at the top: ``import nbstream`` does not need httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return redact(url, secret)
    if parsed.userinfo:
        parsed = parsed.copy_with(username=MASK, password=None)
    if parsed.query:
        params = [
            (name, MASK if SECRET_NAME.search(name) else value)
            for name, value in parsed.params.multi_items()
        ]
        parsed = parsed.copy_with(params=params)
    return redact(str(parsed), secret)


class _Held:
    """One channel of a stream (text or reasoning): masked text out, a possible key held."""

    __slots__ = ("_firsts", "_pairs", "held", "secrets")

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = secrets
        self.held = ""
        # Text holding none of the secrets' first two characters contains no secret, and
        # the only start of one it can end with is a secret's first character: then the
        # answer needs no further search (the full one costs ~1.7 µs a token, measured:
        # about 1 % of the in-kernel tiny model's time per token when a key is in the env).
        self._firsts = frozenset(secret[:1] for secret in secrets)
        self._pairs = tuple(dict.fromkeys(secret[:2] for secret in secrets))

    def feed(self, text: str) -> str:
        """The text that is safe to show now, masked (``text`` itself if it is unchanged)."""
        secrets = self.secrets
        buffer = self.held + text if self.held else text
        for pair in self._pairs:
            if pair in buffer:
                break
        else:
            if buffer[-1:] in self._firsts:
                self.held = buffer[-1]
                return buffer[:-1]
            self.held = ""
            return buffer
        cut = partial_start(buffer, secrets)
        if cut < len(buffer):
            cut = _before_whole_keys(buffer, cut, secrets)
            self.held = buffer[cut:]
            buffer = buffer[:cut]
        else:
            self.held = ""
        shown: str = mask(buffer, secrets)
        return shown

    def release(self) -> str:
        """The held-back tail at the end of the stream: masked, and a cut-off key too."""
        held, self.held = self.held, ""
        if not held:
            return ""
        shown: str = mask(held, self.secrets)
        cut = partial_start(shown, self.secrets, MIN_LENGTH)
        return shown[:cut] + MASK if cut < len(shown) else shown


def _before_whole_keys(buffer: str, cut: int, secrets: Sequence[str]) -> int:
    """Move ``cut`` back before any whole key that it would split (keys that overlap)."""
    moved = True
    while moved:
        moved = False
        for secret in secrets:
            found = buffer.find(secret, max(0, cut - len(secret) + 1))
            if found != -1 and found < cut:
                cut, moved = found, True
    return cut


class StreamMasker:
    """Masks a stream's chunks as they arrive, holding back what could still become a key.

    The token count of a chunk whose text is held back is kept explicit (a delta with
    text counts as one token), and the released tail counts none, so counts and rates
    are the same whether or not a key is set.
    """

    __slots__ = ("_reasoning", "_text")

    def __init__(self, secrets: Sequence[str]) -> None:
        self._text = _Held(secrets)
        self._reasoning = _Held(secrets)

    def chunk(self, chunk: Chunk) -> Chunk:
        """``chunk`` with its text and reasoning masked and held back (itself if unchanged)."""
        text, reasoning = chunk.text, chunk.reasoning
        shown_text = self._text.feed(text) if text else text
        shown_reasoning = self._reasoning.feed(reasoning) if reasoning else reasoning
        if shown_text is text and shown_reasoning is reasoning:
            return chunk
        # Built directly: dataclasses.replace() costs twice as much, on the hot path.
        return Chunk(
            text=shown_text,
            reasoning=shown_reasoning,
            finish_reason=chunk.finish_reason,
            usage=chunk.usage,
            model=chunk.model,
            tokens=chunk.tokens or (1 if text or reasoning else 0),
            at=chunk.at,
        )

    def release(self) -> tuple[str, str]:
        """The held-back text and reasoning, once the stream has ended (however it ended)."""
        return self._text.release(), self._reasoning.release()
