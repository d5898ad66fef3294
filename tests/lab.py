"""A real JupyterLab in a real browser, for tests of what the user sees.

What the labextension and the chat widget promise happens in the browser — Markdown that
grows, a Stop button that interrupts the kernel, a reopened notebook that still renders
— so these tests drive JupyterLab (a server on 127.0.0.1, the venv's kernel) from
Debian's Chromium through Playwright, never from a browser a test tool downloaded.

Use it from a test module (the fixtures are registered once, in ``conftest.py``)::

    from .lab import open_notebook, run_all, screenshot, wait_for_idle, write_notebook

    def test_it(lab_server, page):
        path = write_notebook(lab_server.root / "t.ipynb", ["%load_ext nbstream", "..."])
        open_notebook(page, lab_server, "t.ipynb")
        run_all(page)
        wait_for_idle(page)
        print(screenshot(page, "after-run"))

Fixtures (registered in ``conftest.py``; a second registration would start a second
"session" browser, which Playwright's sync API refuses):

* ``lab_server`` (session) — a :class:`LabServer` with ``.url`` (ends in ``/``),
  ``.token``, ``.root`` (a temp dir: write notebooks there) and ``.data_dir`` (its
  Jupyter data dir, where the notebook-signing secret lives). Its config, data,
  settings and workspace dirs are private temp dirs, so nothing from the machine's own
  Jupyter set-up leaks in, and ``window.jupyterapp`` is exposed for :func:`run_command`.
* ``browser`` (session) — Playwright's Chromium (``/usr/bin/chromium``, or
  ``$NBSTREAM_CHROMIUM``) with a fresh profile.
* ``page`` — a new page (1280×900, clipboard allowed) in a new context for each test.

Helpers: :func:`write_notebook`, :func:`open_notebook`, :func:`run_command`,
:func:`run_all` and :func:`run_cell` (both return at once, while the cells run),
:func:`kernel_state`, :func:`wait_for_idle`, :func:`wait_for_busy`,
:func:`wait_for_cell`, :func:`save`, :func:`shutdown_kernels`, :func:`screenshot` (a PNG
of the page under
``$NBSTREAM_ARTIFACTS``, default ``artifacts/``, in a sub-folder, default ``lab``:
:func:`artifacts_dir`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = os.environ.get("NBSTREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# A pop-up asking about news would cover part of every screenshot.
_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API (``path`` without the leading ``/``)."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def _use_this_extension(folder: Path) -> str:
    """A ``$JUPYTER_PATH`` entry serving the extension built beside the ``nbstream``
    imported here (a worktree's own build, whatever another checkout linked into the
    environment): ``$JUPYTER_PATH`` comes first in JupyterLab's extension path (before
    the environment's, which a venv prefers to the user's data dir), and the first
    ``nbstream`` found wins. Empty if nothing is built here."""
    import nbstream

    built = Path(nbstream.__file__).parent / "labextension"
    if not (built / "package.json").exists():
        return ""
    (folder / "labextensions").mkdir(parents=True, exist_ok=True)
    (folder / "labextensions" / "nbstream").symlink_to(built, target_is_directory=True)
    return str(folder)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="lab_server", scope="session")
def lab_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with start_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@contextlib.contextmanager
def start_lab(base: Path, disabled: Sequence[str] = ()) -> Iterator[LabServer]:
    """A JupyterLab server whose folders are all under ``base`` (the fixture; benchmarks);
    ``disabled``: more extensions (names or plugin ids) its pages leave out."""
    root, config, runtime, data = (base / name for name in ("root", "config", "runtime", "data"))
    for folder in (root, config / "labconfig", runtime, data):
        folder.mkdir(parents=True)
    page_config = {"disabledExtensions": {**_PAGE_CONFIG["disabledExtensions"]}}
    page_config["disabledExtensions"].update(dict.fromkeys(disabled, True))
    (config / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
    ours = _use_this_extension(base / "jupyter_path")
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [ours, os.environ.get("JUPYTER_PATH")])),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    log = base / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--LabApp.expose_app_in_browser=True",
        # Notebook 7 (the notebook package) is served by the same server at /notebooks/.
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, data, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.api("GET", "api/status")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(name="page")
def page_fixture(browser: Any, lab_server: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    new_page = context.new_page()
    new_page.set_default_timeout(30_000)
    yield new_page
    context.close()


def artifacts_dir(name: str = "") -> Path:
    """``$NBSTREAM_ARTIFACTS`` (default ``artifacts/``) / ``name``, created."""
    folder = Path(os.environ.get("NBSTREAM_ARTIFACTS", "artifacts")).resolve() / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str, folder: str = "lab") -> Path:
    """Save a PNG of the whole page as ``<artifacts>/<folder>/<name>.png``; return its path."""
    path = artifacts_dir(folder) / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """A notebook of code cells (no outputs) with the venv's ``python3`` kernel."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, str(path))
    return path


def open_notebook(
    page: Any, lab: LabServer, path: str, *, kernel: bool = True, frontend: str = "lab"
) -> None:
    """Open ``path`` (relative to ``lab.root``) in a single-document JupyterLab page, or
    with ``frontend="notebook7"`` in Notebook 7 (the same server, at ``/notebooks/``).

    With ``kernel=True`` wait until its kernel is idle; otherwise only until the cells
    are shown (the kernel may still be starting).
    """
    where = "notebooks/{}?token={}" if frontend == "notebook7" else "lab/tree/{}?token={}&reset"
    page.goto(lab.url + where.format(path, lab.token))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached")
    page.wait_for_function("() => !!window.jupyterapp && window.jupyterapp.started !== undefined")
    if kernel:
        wait_for_idle(page, timeout=60)


def run_command(
    page: Any, command: str, args: dict[str, Any] | None = None, *, wait: bool = True
) -> Any:
    """Run a JupyterLab command (``notebook:run-all-cells``, ``docmanager:save``, …).

    With ``wait`` return its result once it has finished (for the run commands: once the
    cells have run); otherwise return as soon as it has started.
    """
    return page.evaluate(
        """([id, args, wait]) => {
            const done = window.jupyterapp.commands.execute(id, args);
            return wait ? done : null;
        }""",
        [command, args or {}, wait],
    )


def run_all(page: Any) -> None:
    """Start running every cell; returns at once (see :func:`wait_for_idle`)."""
    run_command(page, "notebook:run-all-cells", wait=False)


def run_cell(page: Any, index: int) -> None:
    """Select cell ``index`` (0-based) and start running it; returns at once."""
    page.locator(".jp-NotebookPanel .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    run_command(page, "notebook:run-cell", wait=False)


def wait_for_cell(page: Any, index: int, timeout: float = 60) -> None:
    """Wait until cell ``index`` has run (its prompt shows a number, not ``*`` or nothing).

    Right after :func:`run_cell` the kernel may still look idle, so :func:`wait_for_idle`
    alone can return before the cell started.
    """
    page.wait_for_function(
        """(i) => {
            const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
            const prompt = cell?.querySelector('.jp-InputPrompt')?.textContent ?? '';
            return /\\[\\d+\\]/.test(prompt);
        }""",
        arg=index,
        timeout=timeout * 1000,
    )


def kernel_state(page: Any) -> str:
    """The current notebook's kernel status (``idle``, ``busy``, …) or ``none``."""
    return str(
        page.evaluate(
            """() => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel?.sessionContext?.session?.kernel;
                return kernel ? kernel.status : 'none';
            }"""
        )
    )


def wait_for_idle(page: Any, timeout: float = 60) -> None:
    """Wait until the current notebook's kernel is idle (started and not running a cell)."""
    _wait_for(page, lambda state: state == "idle", timeout, "idle")


def wait_for_busy(page: Any, timeout: float = 30) -> None:
    _wait_for(page, lambda state: state == "busy", timeout, "busy")


def _wait_for(page: Any, test: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    state = kernel_state(page)
    while not test(state):
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel not {what} after {timeout} s (state {state!r})")
        page.wait_for_timeout(50)
        state = kernel_state(page)


def save(page: Any) -> None:
    """Save the current notebook and wait until the file is written."""
    run_command(page, "docmanager:save")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=10_000
    )


def shutdown_kernels(lab: LabServer) -> None:
    """Delete every session (and so its kernel) on the server."""
    for session in lab.api("GET", "api/sessions"):
        lab.api("DELETE", f"api/sessions/{session['id']}")
