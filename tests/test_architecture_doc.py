"""docs/ARCHITECTURE.md's package tree stays true: it lists every module of ``classifier``,
``training`` and ``bot`` once, and nothing that is not there."""

from __future__ import annotations

import re

from tests.conftest import REPO

PACKAGES = ("classifier", "training", "bot")
ENTRY = re.compile(r"^( *)([\w.]+/?)(?:\s|$)")


def listed_paths(text: str) -> list[str]:
    """The paths the tree block names: nesting by indentation, two spaces a level."""
    blocks = text.split("```")[1::2]
    block = next(b for b in blocks if b.lstrip("\n").startswith("classifier/"))
    stack: list[str] = []
    found = []
    for line in block.splitlines():
        match = ENTRY.match(line)
        if match is None or (match.group(1) and len(match.group(1)) % 2):
            continue
        depth = len(match.group(1)) // 2
        name = match.group(2)
        if depth > len(stack):  # a continuation line of the description above
            continue
        del stack[depth:]
        path = "/".join([*stack, name.rstrip("/")])
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
        found.append(path)
    return found


def modules_on_disk() -> set[str]:
    """Every module of the three packages, except package markers and migration revisions."""
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            if path.name != "__init__.py" and "/migrations/" not in relative:
                found.add(relative)
    return found


def test_the_tree_lists_every_module_and_only_those() -> None:
    listed = listed_paths((REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    modules = {p for p in listed if p.endswith(".py")}
    assert sorted(modules_on_disk() - modules) == [], "modules missing from the tree"
    assert sorted(modules - modules_on_disk()) == [], "the tree names modules that are gone"
    assert len(modules) == len([p for p in listed if p.endswith(".py")]), "listed twice"


def test_the_reader_follows_nesting() -> None:
    tree = "classifier/\n  a.py    one\n          more\n  sub/\n    b.py\nbot/\n  c.py\n"
    text = f"a\n```\nx.py\n```\nb\n```\n{tree}```\n"
    assert listed_paths(text) == [
        "classifier",
        "classifier/a.py",
        "classifier/sub",
        "classifier/sub/b.py",
        "bot",
        "bot/c.py",
    ]
