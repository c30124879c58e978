"""The import graph of the house: no cycle between the modules or the packages of ``bot`` and
``training``, and imports flowing one way (``bot`` never imports ``training``, ``classifier``
neither). Built from the source with :mod:`ast`, so imports under ``TYPE_CHECKING`` count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "classifier", "training")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def annotation_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (imported for annotations only)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }


def imports(name: str, path: Path, known: dict[str, Path], annotations: bool = True) -> set[str]:
    """The modules of the house that ``name`` imports (``from package import submodule``
    names the submodule, not the package); without ``annotations``, those imported only
    under ``TYPE_CHECKING`` are left out."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if annotations else annotation_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")
                parent = parent[: len(parent) - node.level + (1 if is_package else 0)]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def graph(annotations: bool = True) -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known, annotations) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    """``bot.blocks.admin`` -> ``bot.blocks``; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_module_imports_another_in_a_cycle() -> None:
    assert cycles(graph()) == []


def test_no_package_imports_another_in_a_cycle() -> None:
    """Between packages only what runs counts: ``Services`` names the retrain runners it
    holds in an annotation, while ``bot.retrain``'s Slack side (commands, reporter, reaper
    wiring) runs on those services."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph(annotations=False).items():
        edges = packages.setdefault(package_of(module), set())
        edges.update(package_of(t) for t in targets if package_of(t) != package_of(module))
    assert cycles(packages) == []


@pytest.mark.parametrize(
    "package,forbidden", [("bot", "training"), ("classifier", "bot"), ("classifier", "training")]
)
def test_imports_flow_one_way(package: str, forbidden: str) -> None:
    wrong = {
        module: sorted(t for t in targets if t.split(".")[0] == forbidden)
        for module, targets in graph().items()
        if module.split(".")[0] == package
    }
    assert {m: t for m, t in wrong.items() if t} == {}
