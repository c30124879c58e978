"""Every benchmark flag says what it does in ``--help`` (read from the source: the scripts
import torch and the datasets' helpers, which a help check does not need)."""

from __future__ import annotations

import ast

from tests.conftest import REPO


def test_every_benchmark_flag_has_help() -> None:
    missing = []
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
            ):
                continue
            help_text = next((k.value for k in node.keywords if k.arg == "help"), None)
            empty = isinstance(help_text, ast.Constant) and not str(help_text.value).strip()
            if help_text is None or empty:
                missing.append(f"{path.name}:{node.lineno}")
    assert missing == []
