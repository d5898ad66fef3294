"""nbstream as a user gets it: the wheel, installed where there is no node.

``python -m build`` makes the sdist and, from it, the wheel, once per session (building
runs jlpm and node when the extension is not built yet, as on a maintainer's machine). It
builds without isolation, with the build requirements the test extra installs (build
checks that they satisfy ``[build-system] requires``): an isolated build installs
JupyterLab twice more, which takes minutes. The wheel is then installed with pip into a
fresh venv — nothing from the test's own venv; pip's cache keeps it quick — and that
venv's JupyterLab runs with ``PATH`` holding only the venv: no node anywhere. The
extension must be listed as enabled and compatible, and JupyterLab must serve it.

First with the newest JupyterLab the ``lab`` extra allows, then (the same venv,
downgraded) with the lowest it declares: the extension is built against that
JupyterLab's core metadata (``@jupyterlab/core-meta`` in labextension/package.json), so
every shared package it asks for at run time must be one that JupyterLab ships. And one
version number for the Python package and its extension.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from jupyter_builder.jupyterlab_semver import satisfies
from packaging.requirements import Requirement
from packaging.version import Version

# Building from a clean checkout runs jlpm install and the build: minutes, once.
pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NAME = "nbstream"
# Shared modules in the built remoteEntry, as rspack writes them.
SHARED = re.compile(r'shareKey:"(?P<name>[^"]+)",import:[^,]*,requiredVersion:"(?P<range>[^"]+)"')
# Variables that would let the test's own environment leak into the user's.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER", "JUPYTERLAB")


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path

    @property
    def metadata(self) -> Any:
        with zipfile.ZipFile(self.wheel) as wheel:
            [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
            return HeaderParser().parsestr(wheel.read(name).decode())

    def lowest_lab(self) -> Version:
        """The lowest JupyterLab the ``lab`` extra allows (its ``>=``)."""
        specifiers = self.lab_requirement().specifier
        [lowest] = [Version(s.version) for s in specifiers if s.operator == ">="]
        return lowest

    def lab_requirement(self) -> Requirement:
        """The ``jupyterlab`` requirement of the ``lab`` extra, from the wheel's metadata."""
        for line in self.metadata.get_all("Requires-Dist"):
            requirement = Requirement(line)
            if requirement.name == "jupyterlab" and "lab" in str(requirement.marker):
                return requirement
        raise AssertionError("the wheel has no 'lab' extra requiring jupyterlab")


@dataclass(frozen=True)
class UserEnv:
    """A fresh venv and the environment to run its commands in (``PATH``: the venv only)."""

    prefix: Path
    env: dict[str, str]

    def run(self, *args: str) -> str:
        """Run a command from the venv's ``bin``; its output (stdout and stderr)."""
        done = subprocess.run(
            [str(self.prefix / "bin" / args[0]), *args[1:]],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}"
        return done.stdout

    def install(self, *requirements: str) -> None:
        """``pip install`` into the venv (pip from the test's venv: no ensurepip, no compile)."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(self.prefix / "bin" / "python"),
                "install",
                "-q",
                "--no-compile",
                *requirements,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"pip install {requirements} failed:\n{done.stdout[-4000:]}"

    @property
    def extension_dir(self) -> Path:
        return self.prefix / "share" / "jupyter" / "labextensions" / NAME

    def extension_package(self) -> dict[str, Any]:
        return dict(json.loads((self.extension_dir / "package.json").read_text()))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    # The build hook runs jlpm, which is in this venv (from JupyterLab), and node.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        env={**os.environ, "PATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout[-4000:]}"
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return Built(wheel, sdist)


def _user_env(base: Path, requirements: Sequence[str]) -> UserEnv:
    """A fresh venv under ``base`` with ``requirements`` installed, node out of reach."""
    venv.EnvBuilder(clear=True).create(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY)}
    config = base.parent / f"{base.name}-jupyter"
    env.update(
        PATH=str(base / "bin"),
        JUPYTER_CONFIG_DIR=str(config / "config"),
        JUPYTER_DATA_DIR=str(config / "data"),
        JUPYTER_RUNTIME_DIR=str(config / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(config / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(config / "workspaces"),
    )
    user = UserEnv(base, env)
    assert shutil.which("node", path=env["PATH"]) is None
    assert user.run("python", "-c", "import shutil; print(shutil.which('node'))").strip() == "None"
    user.install(*requirements)
    return user


@pytest.fixture(scope="module")
def newest(built: Built, tmp_path_factory: pytest.TempPathFactory) -> UserEnv:
    """``pip install "nbstream[lab]"``: the newest JupyterLab the extra allows."""
    return _user_env(tmp_path_factory.mktemp("user") / "venv", [f"{built.wheel}[lab]"])


@pytest.fixture(scope="module")
def lowest(built: Built, newest: UserEnv) -> UserEnv:
    """The same venv with the lowest JupyterLab the ``lab`` extra allows (tests using
    ``newest`` come first in this module)."""
    newest.install(f"jupyterlab=={built.lowest_lab()}")
    return newest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(user: UserEnv) -> Iterator[tuple[str, str]]:
    """Start the venv's JupyterLab on a free loopback port; yield its URL and token."""
    token, port = secrets.token_hex(16), _free_port()
    root = user.prefix.parent / "root"
    root.mkdir(exist_ok=True)
    log = user.prefix.parent / "lab.log"
    command = [
        str(user.prefix / "bin" / "jupyter-lab"),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=user.env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(url + "api/status", token)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _get(url: str, token: str) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get_content_type(), response.read().decode()


def _check_listed_and_served(user: UserEnv) -> None:
    listing = re.sub(r"\x1b\[[0-9;]*m", "", user.run("jupyter", "labextension", "list"))
    # "nbstream v0.1.0-dev.0 enabled OK (python, nbstream)" under the venv's folder.
    line = re.search(rf"^\s*{NAME} v(\S+) (.*)$", listing, re.M)
    assert line, listing
    assert line.group(2).split() == ["enabled", "OK", "(python,", f"{NAME})"], listing
    assert str(user.extension_dir.parent) in listing, listing
    assert "incompatible" not in listing, listing

    load = user.extension_package()["jupyterlab"]["_build"]["load"]
    with _serve(user) as (url, token):
        _, _, page = _get(url + "lab", token)
        config = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)
        assert config, page
        listed = json.loads(config.group(1))["federated_extensions"]
        assert {"name": NAME, "load": load} in [
            {"name": e["name"], "load": e["load"]} for e in listed
        ]
        status, content_type, body = _get(f"{url}lab/extensions/{NAME}/{load}", token)
    assert status == 200
    assert content_type in ("application/javascript", "text/javascript")
    # The module-federation container of the extension (not an HTML error page).
    assert f"rspackChunk{NAME}" in body


def test_the_wheel_works_without_node(built: Built, newest: UserEnv) -> None:
    _check_listed_and_served(newest)


def test_one_version_for_the_package_and_its_extension(built: Built, newest: UserEnv) -> None:
    source = json.loads((ROOT / "labextension" / "package.json").read_text())["version"]
    in_python = newest.run("python", "-c", f"import {NAME}; print({NAME}.__version__)").strip()
    versions = {
        "labextension/package.json": source,
        "installed extension's package.json": newest.extension_package()["version"],
        "wheel metadata": built.metadata["Version"],
        "wheel file name": built.wheel.name.split("-")[1],
        "sdist file name": built.sdist.name.removesuffix(".tar.gz").split("-")[1],
        f"{NAME}.__version__": in_python,
    }
    assert len({Version(v) for v in versions.values()}) == 1, versions


def test_the_lowest_declared_jupyterlab_provides_what_the_extension_asks_for(
    built: Built, lowest: UserEnv
) -> None:
    assert Version(lowest.run("jupyter-lab", "--version").strip()) == built.lowest_lab()
    _check_listed_and_served(lowest)
    # What the bundle asks the page's share scope for at run time…
    package = lowest.extension_package()
    entry = (lowest.extension_dir / package["jupyterlab"]["_build"]["load"]).read_text()
    asked = {m["name"]: m["range"] for m in SHARED.finditer(entry)}
    assert "@jupyterlab/notebook" in asked, entry[:2000]
    # …and the versions that JupyterLab ships (its bundle's licence list names each one).
    [site] = lowest.prefix.glob("lib/python*/site-packages")
    licences = json.loads((site / "jupyterlab/static/third-party-licenses.json").read_text())
    shipped = {p["name"]: p["versionInfo"] for p in licences["packages"]}
    unmet = {
        name: (wanted, shipped.get(name))
        for name, wanted in asked.items()
        if name not in shipped or not satisfies(shipped[name], wanted)
    }
    assert not unmet, f"(asked, shipped) by JupyterLab {built.lowest_lab()}: {unmet}"
    # Every @jupyterlab package it asks for is one package.json declares.
    declared = package["dependencies"]
    assert {n for n in asked if n.startswith("@jupyterlab/")} <= set(declared)
