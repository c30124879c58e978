"""No import cycle inside ``training/`` or ``classifier/``: every module can be read before the
modules that import it. Imports under ``TYPE_CHECKING`` and inside functions count too: they
are the same dependency, only deferred."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO


def import_graph(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` (dotted name) and the modules of ``package`` it imports."""
    paths = {}
    for path in (REPO / package).rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        paths[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[module] = {t for t in targets if t in paths and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import whose target imports its importer back, directly or not."""
    found = []
    for start, targets in sorted(graph.items()):
        for target in sorted(targets):
            seen, todo = set(), [target]
            while todo:
                module = todo.pop()
                if module == start:
                    found.append(f"{start} -> {target}")
                    break
                if module not in seen:
                    seen.add(module)
                    todo.extend(graph[module])
    return found


@pytest.mark.parametrize("package", ["training", "classifier"])
def test_no_import_cycle_inside_the_package(package: str) -> None:
    assert cycles(import_graph(package)) == []


def test_a_cycle_is_found() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == ["p.a -> p.b", "p.b -> p.c", "p.c -> p.a"]
