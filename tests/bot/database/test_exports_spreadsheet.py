"""The people's CSV opened by a real spreadsheet (Gnumeric's ``ssconvert``): no formula is
evaluated, while the same rows written plainly are. Needs ``ssconvert`` (apt: gnumeric)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.database.exports import write_people_csv

pytestmark = pytest.mark.skipif(
    shutil.which("ssconvert") is None, reason="needs Gnumeric's ssconvert (apt: gnumeric)"
)

ROWS = [
    ("=1+1", "positive"),
    ("+2+3", "-1"),
    ("-4+5", "neutral"),
    ("@SUM(1,1)", "neutral"),
    ('=HYPERLINK("http://evil.example","click me")', "=2+2"),
    ("\t=6+7", "x"),
    ("\r=8+9", "y"),
    ("plain text", "positive"),
]


def as_evaluated(source: Path) -> list[list[str]]:
    """The cells' values after the spreadsheet opened ``source`` (saved back as CSV)."""
    out = source.with_name(source.stem + "-values.csv")
    subprocess.run(
        ["ssconvert", str(source), str(out)], check=True, capture_output=True, timeout=120
    )
    with open(out, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def test_a_spreadsheet_evaluates_no_formula_in_the_export(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    with open(plain, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *ROWS])
    evaluated = as_evaluated(plain)
    assert evaluated[0][0] == "2" and evaluated[4] == ["click me", "4"]  # the harness sees them
    safe = tmp_path / "safe.csv"
    with open(safe, "w", newline="", encoding="utf-8") as handle:
        write_people_csv(handle, ROWS)
    shown = as_evaluated(safe)
    assert [row[0] for row in shown[:5]] == [text for text, _ in ROWS[:5]]  # text, not values
    assert shown[4][1] == "=2+2" and shown[1][1] == "-1" and shown[-1] == ["plain text", "positive"]
    assert [row[0].lstrip() for row in shown[5:7]] == ["=6+7", "=8+9"]
