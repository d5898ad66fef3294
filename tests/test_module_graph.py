"""nbstream's modules import each other without cycles.

A cycle means two modules each hold part of what both need (``Call`` lived in
``backends/_http.py`` while ``backends/_http_errors.py`` needed it too): the shared part
belongs in a module of its own, below both. Imports under ``TYPE_CHECKING`` and inside
functions count, since they are the same dependency deferred.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbstream

ROOT = Path(nbstream.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                if node.level:
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    targets.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports() -> None:
    graph = _graph()
    assert "nbstream.backends._call" in graph["nbstream.backends._http_errors"]
    assert "nbstream._secrets" in graph["nbstream.backends._call"]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph with each subpackage (``backends``, ``chat``…) as one node."""

    def room(name: str) -> str:
        return ".".join(name.split(".")[:2])

    rooms: dict[str, set[str]] = {}
    for name, targets in graph.items():
        rooms.setdefault(room(name), set()).update(room(t) for t in targets)
    return {name: targets - {name} for name, targets in rooms.items()}


def test_the_package_graph_sees_subpackages() -> None:
    rooms = _packages(_graph())
    assert "nbstream.backends" in rooms["nbstream.recording"]
    assert "nbstream._shapes" in rooms["nbstream.backends"]


def test_no_cycles_between_packages() -> None:
    """A subpackage and a module (or another subpackage) never import each other: each
    package is one floor of the README's map, above everything it uses."""
    assert _cycles(_packages(_graph())) == []
