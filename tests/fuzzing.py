"""Counts the examples hypothesis really runs, so the README states a count, not a maximum.

``settings(max_examples=N)`` is only an upper bound: hypothesis stops sooner when a
strategy runs out of distinct inputs, and a test can be run with fewer examples by a
profile. ``@fuzz(SETTINGS)``, written above ``@given``, applies the settings, counts each
example whose body ran to the end, fails the test if fewer than ``max_examples`` ran, and records
the count in :data:`RAN`, which ``tests/conftest.py`` prints at the end of the session::

    @fuzz(settings(max_examples=300, derandomize=True, deadline=None))
    @given(st.text())
    def test_something(text: str) -> None: ...

It counts through ``test.hypothesis.inner_test``, the documented place where other
tools (pytest-trio, for one) wrap the body hypothesis calls for each example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings

RAN: dict[str, int] = {}
"""Examples run per property test in this session (test name -> count)."""


def fuzz(config: settings) -> Callable[[Callable[..., None]], Callable[[], None]]:
    """Apply ``config`` to a ``@given`` test and assert that all its examples ran."""

    def decorate(test: Callable[..., None]) -> Callable[[], None]:
        configured: Any = config(test)
        handle = configured.hypothesis
        body = handle.inner_test
        calls = 0

        def counting(*args: Any, **kwargs: Any) -> None:
            nonlocal calls
            body(*args, **kwargs)
            calls += 1  # only examples that ran to the end (not ones hypothesis rejected)

        handle.inner_test = counting

        def run() -> None:
            nonlocal calls
            calls = 0
            configured()
            RAN[test.__name__] = calls
            assert calls >= config.max_examples, (
                f"hypothesis ran {calls} examples, not the {config.max_examples} configured"
            )

        run.__name__ = run.__qualname__ = test.__name__
        run.__doc__ = test.__doc__
        run.__module__ = test.__module__
        return run

    return decorate


__all__ = ["RAN", "fuzz"]
