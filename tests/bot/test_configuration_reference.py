"""docs/configuration.md is checked both ways against the code: every variable the code reads is
documented, every documented one is read, with the table's defaults and heed.toml keys."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from bot.setting_table import SPECS, TASK_KEYS
from bot.settings import Settings
from tests.conftest import REPO

REFERENCE = REPO / "docs" / "configuration.md"
SOURCE_ROOTS = tuple(REPO / name for name in ("bot", "classifier", "training"))
VARIABLE_ROOTS = (*SOURCE_ROOTS, REPO / "benchmarks")
LITERAL = re.compile(r"""["']((?:HEED|SLACK)_[A-Z0-9_]+)["']""")
CELL = re.compile(r"^`([^`]+)`$")
TOP_KEYS = {"default_task", "[tasks.NAME]"}
BASE = {"SLACK_BOT_TOKEN": "xoxb-1-secret-bot", "SLACK_APP_TOKEN": "xapp-1-secret-app"}
ENTRY_POINTS = {
    "bot/__main__.py",
    "classifier/cli_support.py",
    "training/__main__.py",
    "bot/retrain/runner.py",  # hands an allow-listed part of it to the training child
}
"""The only modules that may touch ``os.environ``: everything below them receives values."""


def variables_in_source(roots: Iterable[Path]) -> set[str]:
    """Every ``"HEED_…"``/``"SLACK_…"`` string literal in the Python files under ``roots``."""
    found: set[str] = set()
    for root in roots:
        for path in root.rglob("*.py"):
            found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def code_variables() -> set[str]:
    """What the code reads: the settings table, and any variable named anywhere else."""
    return {spec.variable for spec in SPECS} | variables_in_source(VARIABLE_ROOTS)


def reference_rows() -> list[dict[str, str]]:
    """The rows of the reference's table, keyed by its header."""
    lines = [
        line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line[:2] == "| "
    ]
    header, *rows = ([cell.strip() for cell in line.strip("|").split(" | ")] for line in lines)
    return [dict(zip(header, row, strict=True)) for row in rows]


def unquoted(cell: str) -> str | None:
    match = CELL.match(cell)
    return match.group(1) if match else None


def documented_variables() -> set[str]:
    return {v for row in reference_rows() if (v := unquoted(row["Variable"]))}


def disagreements(code: set[str], documented: set[str]) -> list[str]:
    """One line per variable read but not documented, or documented but not read."""
    return [
        f"{name} is read by the code but not in {REFERENCE.name}"
        for name in sorted(code - documented)
    ] + [
        f"{name} is in {REFERENCE.name} but the code does not read it"
        for name in sorted(documented - code)
    ]


def test_the_reference_names_exactly_the_variables_the_code_reads() -> None:
    assert disagreements(code_variables(), documented_variables()) == []


def test_a_variable_added_to_the_code_only_is_reported(tmp_path: Path) -> None:
    (tmp_path / "knob.py").write_text('LIMIT = int(env.get("HEED_NEW_KNOB") or 3)\n')
    code = code_variables() | variables_in_source([tmp_path])
    assert disagreements(code, documented_variables()) == [
        "HEED_NEW_KNOB is read by the code but not in configuration.md"
    ]


def test_a_variable_left_in_the_reference_only_is_reported() -> None:
    documented = documented_variables() | {"HEED_GONE"}
    assert disagreements(code_variables(), documented) == [
        "HEED_GONE is in configuration.md but the code does not read it"
    ]


class Recording(dict):
    """An environment that remembers every variable asked for."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:
        self.asked.add(key)
        return super().get(key, default)


def test_the_settings_read_every_variable_of_the_table(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./heed.toml
    env = Recording(BASE)
    Settings.from_env(env)
    assert env.asked == {spec.variable for spec in SPECS}


def test_defaults_and_heed_toml_keys_match_the_table() -> None:
    rows = {
        unquoted(row["Variable"]) or unquoted(row["heed.toml key"]): row for row in reference_rows()
    }
    for spec in SPECS:
        row = rows[spec.variable]
        if spec.default:
            assert row["Default"] == f"`{spec.default}`", spec.variable
        assert unquoted(row["heed.toml key"]) == spec.toml, spec.variable
    keys = {unquoted(row["heed.toml key"]) for row in reference_rows()} - {None}
    assert keys == TOP_KEYS | set(TASK_KEYS)


def _reads_environment(node: ast.AST) -> bool:
    """``os.environ``/``os.getenv``, or either imported from ``os`` (a WSGI ``environ`` is not)."""
    names = {"environ", "getenv"}
    if isinstance(node, ast.Attribute):
        return node.attr in names and isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and any(alias.name in names for alias in node.names)
    return False


def environment_readers(roots: Iterable[Path]) -> set[str]:
    """The files under ``roots`` that use ``os.environ`` or ``getenv`` (in code, not prose)."""
    found = set()
    for root in roots:
        for path in root.rglob("*.py"):
            if any(_reads_environment(n) for n in ast.walk(ast.parse(path.read_text("utf-8")))):
                found.add(path.relative_to(root.parent).as_posix())
    return found


def test_only_the_entry_points_read_the_environment(tmp_path: Path) -> None:
    assert environment_readers(SOURCE_ROOTS) <= ENTRY_POINTS
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "lower.py").write_text('import os\nLIMIT = os.getenv("HEED_X")\n')
    assert environment_readers([tmp_path / "pkg"]) == {"pkg/lower.py"}
