"""Every command-line parser spells options out: an abbreviation such as ``--dat`` is an error,
never a silent ``--data`` (argparse's ``allow_abbrev`` is off everywhere)."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PARSER_CALLS = ("ArgumentParser", "add_parser")


def test_every_parser_refuses_abbreviations() -> None:
    missing = []
    for package in ("bot", "classifier", "training", "benchmarks"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name not in PARSER_CALLS:
                    continue
                keywords = {k.arg: k.value for k in node.keywords}
                value = keywords.get("allow_abbrev")
                off = isinstance(value, ast.Constant) and value.value is False
                inherited = path.name == "cli.py" and package == "training"
                if not off and not inherited:
                    missing.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert missing == []
