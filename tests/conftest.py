"""Shared fixtures: real tiny GGUF models, generated once per test session.

The models are written by :mod:`tests.tinymodel` (seeded, so every run sees the same
bytes) into a session temporary directory; generating both takes a few tens of
milliseconds. ``gguf`` is imported only when a test asks for a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nbstream._specs import DEFAULT_REGISTRY, Registry


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base model with no chat template (like the demo Gemma 270M)."""
    from .tinymodel import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model with a simple ``<|role|>`` chat template in its metadata."""
    from .tinymodel import SIMPLE_CHAT_TEMPLATE, write_tiny_model

    path = tmp_path_factory.mktemp("models") / "tiny-chat.gguf"
    return write_tiny_model(path, chat_template=SIMPLE_CHAT_TEMPLATE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many generated examples the property tests ran (``tests/fuzzing.py``)."""
    from .fuzzing import RAN

    if RAN:
        terminalreporter.write_line(
            f"hypothesis: {sum(RAN.values()):,} generated examples ran in {len(RAN)} property tests"
        )


@pytest.fixture
def registry() -> Iterator[Registry]:
    """The kernel-wide registry the Python API uses, emptied before and after the test."""
    saved = (dict(DEFAULT_REGISTRY.aliases), DEFAULT_REGISTRY.current, DEFAULT_REGISTRY.config)
    DEFAULT_REGISTRY.aliases.clear()
    DEFAULT_REGISTRY.current = DEFAULT_REGISTRY.config = None
    yield DEFAULT_REGISTRY
    DEFAULT_REGISTRY.aliases.clear()
    DEFAULT_REGISTRY.aliases.update(saved[0])
    DEFAULT_REGISTRY.current, DEFAULT_REGISTRY.config = saved[1], saved[2]


# The browser and JupyterLab fixtures are registered here, once: imported into each test
# module instead, every module would get its own "session" browser, and a second
# Playwright sync session cannot start while the first one runs.
from .lab import browser_fixture, lab_server_fixture, page_fixture  # noqa: E402, F401
