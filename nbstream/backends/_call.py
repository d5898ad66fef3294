"""What one HTTP request is, for sending it and for telling its failures.

:mod:`._http` sends a :class:`Call` and :mod:`._http_errors` words its failures; both
need the same facts about it (URL, key, how the user sets the address, timeouts), so
they live here, below both, and neither module imports the other for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._secrets import redact, safe_url

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 300.0


def timeouts(seconds: float | None) -> httpx.Timeout:
    """``seconds`` (``--timeout``) is the longest silence allowed between two reads."""
    read = DEFAULT_READ_TIMEOUT if seconds is None else seconds
    return httpx.Timeout(read, connect=min(DEFAULT_CONNECT_TIMEOUT, read))


@dataclass(frozen=True)
class Call:
    """One HTTP request, with what error messages need to know about it.

    ``secret`` is the API key (kept only to redact it, never shown in ``repr``);
    ``key_env`` names the variable it came from; ``url_hint`` says how the user sets
    the address (``--base-url or $OPENAI_BASE_URL``) for connection failures.
    ``optional_fields`` names body fields some servers refuse, each with how the user
    leaves it out, so a rejected request's sentence can say so; ``images`` counts the
    images the body carries, so a rejection can name them (a model without vision).
    """

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold the key
    timeout: float | None = None
    secret: str | None = field(default=None, repr=False)
    key_env: str | None = None
    url_hint: str = "--base-url"
    optional_fields: Mapping[str, str] = field(default_factory=dict)
    images: int = 0

    @property
    def limits(self) -> httpx.Timeout:
        return timeouts(self.timeout)

    def describe(self) -> dict[str, Any]:
        """The request as ``--dry-run`` shows it: the key is ``***``, whatever header holds it."""
        headers = {"Content-Type": "application/json"} if self.body is not None else {}
        for name, value in self.headers.items():
            headers[name] = redact(value, self.secret)
        described: dict[str, Any] = {
            "method": self.method,
            "url": safe_url(self.url, self.secret),
            "headers": headers,
        }
        if self.body is not None:
            described["body"] = self.body
        return described


__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_READ_TIMEOUT", "Call", "timeouts"]
