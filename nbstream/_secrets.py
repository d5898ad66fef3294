"""Which strings are secrets, and masking them wherever text leaves nbstream.

A key can come back from the other side: a proxy that reflects the Authorization header
in its error, a toy server that echoes the request into the answer, a model told the key
in its prompt. So besides never *sending* a key anywhere but the Authorization header,
everything nbstream shows or writes — answers, reasoning, errors, recordings — is masked
against the values of credential-like environment variables (and the variable named by
``--api-key-env``). Values that cannot be keys (short, with spaces, paths) are left
alone so that ordinary text is never masked by accident.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from ._types import Request

MASK = "***"
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|credential", re.I)


def _looks_secret(value: str) -> bool:
    return len(value) >= 8 and not any(c.isspace() for c in value) and not value.startswith("/")


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
