"""Shared fixtures: real tiny GGUF models, generated once per test session.

The models are written by :mod:`tests.tinymodel` (seeded, so every run sees the same
bytes) into a session temporary directory; generating both takes a few tens of
milliseconds. ``gguf`` is imported only when a test asks for a model.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from nbstream._specs import DEFAULT_REGISTRY, Registry

if TYPE_CHECKING:
    from .shell import Shell


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


@pytest.fixture(scope="session")
def llama_server(tiny_chat_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on an ephemeral port; yields its ``/v1`` URL."""
    import llama_cpp.server  # noqa: F401  (CI installs it: missing must fail, never skip)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_chat_model)),
            *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OPENAI_API_KEY": ""},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer within 60 s; see {log.name}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# Markers by fixture use (registered in pyproject.toml): a test that asks for a browser or
# a kernel gets the mark without having to remember it. Tests that start a kernel inline
# carry @pytest.mark.kernel themselves.
_MARKS_BY_FIXTURE = {
    "browser": "browser",
    "page": "browser",
    "lab_server": "browser",
    "kernel": "kernel",
    "kernel_environment": "kernel",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = getattr(item, "fixturenames", ())
        for mark in sorted({_MARKS_BY_FIXTURE[f] for f in used if f in _MARKS_BY_FIXTURE}):
            item.add_marker(mark)


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


@pytest.fixture
def shell(registry: Registry) -> Iterator[Shell]:
    """IPython's shell in this process with ``%load_ext nbstream`` (:mod:`tests.shell`)."""
    from .shell import Shell

    with Shell() as running:
        yield running


# The browser and JupyterLab fixtures are registered here, once: imported into each test
# module instead, every module would get its own "session" browser, and a second
# Playwright sync session cannot start while the first one runs.
from .lab import browser_fixture, lab_server_fixture, page_fixture  # noqa: E402, F401
