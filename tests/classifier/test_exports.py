"""Reading and validating labelled exports: formats, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from classifier.exports import (
    DataError,
    Problem,
    check_rows,
    read_export,
    read_exports,
    stratified_split,
)


def test_csv_with_bom_and_case_insensitive_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes('\ufeffID,Text,LABEL\n1,hello there,greet\n2,"bye, now",leave\n'.encode())
    rows = read_export(path)
    assert [(r.text, r.label) for r in rows] == [("hello there", "greet"), ("bye, now", "leave")]
    assert rows[1].source == f"{path}:3"


def test_tsv_and_custom_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.tsv"
    path.write_text("sentence\tcategory\ngood film\t1\nbad film\t0\n", encoding="utf-8")
    rows = read_export(path, text_column="sentence", label_column="category")
    assert [r.label for r in rows] == ["1", "0"]


def test_jsonl_integer_labels_are_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"text": "x y", "label": 3}), "", json.dumps({"text": "z", "label": "b"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [r.label for r in read_export(path)] == ["3", "b"]


def test_multiline_field_reports_its_starting_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('text,label\n"two\nlines",a\n"",b\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_export(path)
    assert error.value.problems == [Problem(str(path), 4, "empty text")]
    assert str(error.value) == f"{path}:4: empty text"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", ":1: empty file"),
        (b"text,category\nhi,a\n", ":1: missing column 'label' (found: text, category)"),
        (b"text,label\nok,a\nbad \xff byte,b\n", ":3: not valid UTF-8 (byte 0xff)"),
        (b"text,label\n   ,a\n", ":2: empty text"),
        (b"text,label\nhello,\n", ":2: empty label"),
        (b"text,label\n", ":2: no labelled rows"),
        (b"text,label,extra\nonly-one-field\n", ":2: expected 3 fields, found 1"),
    ],
)
def test_bad_csv_names_file_and_line(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_export(path)
    assert reason in str(error.value)
    assert str(error.value).startswith(str(path))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"text": "x"}', "missing key 'label'"),
        ('{"text": "x", "label": null}', "label must be a string or an integer"),
        ('{"text": 5, "label": "a"}', "text must be a string"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_export(path)
    assert f"{path}:2: {reason}" in str(error.value)


def test_problems_from_all_files_are_collected_and_capped(tmp_path: Path) -> None:
    first = tmp_path / "one.csv"
    first.write_text("text,label\n" + "x,\n" * 30, encoding="utf-8")
    second = tmp_path / "two.tsv"
    second.write_text("nothing\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_exports([first, second])
    problems = error.value.problems
    assert len(problems) == 31
    assert problems[0] == Problem(str(first), 2, "empty label")
    assert problems[29] == Problem(str(first), 31, "empty label")
    assert problems[30].file == str(second) and problems[30].line == 1
    message = str(error.value).splitlines()
    assert len(message) == 21 and message[-1] == "... and 11 more problems"
    assert message[0] == f"{first}:2: empty label"


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown format '\.xlsx'"):
        read_export(tmp_path / "a.xlsx")
    with pytest.raises(DataError, match="cannot read"):
        read_export(tmp_path / "missing.csv")


def test_stratified_split_keeps_every_label(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "text,label\n" + "".join(f"t{i},{'ab'[i % 2] if i < 40 else 'c'}\n" for i in range(45)),
        encoding="utf-8",
    )
    rows = read_export(path)
    train, evaluation = stratified_split(rows, 0.2, seed=1)
    assert len(train) + len(evaluation) == 45
    assert Counter(r.label for r in evaluation) == {"a": 4, "b": 4, "c": 1}
    assert not {r.source for r in train} & {r.source for r in evaluation}
    assert stratified_split(rows, 0.2, seed=1) == (train, evaluation)


def test_split_refuses_a_label_with_one_example(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("text,label\nx,a\ny,a\nz,b\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=rf"{path}:4: label 'b' has 1 example\(s\); need at least 2"
    ):
        stratified_split(read_export(path), 0.2, seed=0)


def test_problem_reads_like_file_line_reason() -> None:
    problem = Problem("exports/a b.csv", 7, "empty label")
    assert str(problem) == "exports/a b.csv:7: empty label"
    assert Problem.at("C:/data/x.csv:12", "bad") == Problem("C:/data/x.csv", 12, "bad")
    assert Problem.at("input", "bad") == Problem("input", 0, "bad")


def test_reading_exports_does_not_import_torch() -> None:
    """The bot's retrain preview counts rows in-process: the reader must stay stdlib-only."""
    code = "import classifier.exports, sys; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_an_override_relabels_the_row_in_place_and_an_unmatched_one_is_learnt(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("text,label\nfine,a\nbad,a\nok,b\nmeh,b\n", encoding="utf-8")
    reviewed = tmp_path / "reviewed.jsonl"
    lines = [("bad", "a"), ("bad", "b"), ("new", "b")]  # the newest review of a text wins
    reviewed.write_text(
        "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in lines),
        encoding="utf-8",
    )
    held = tmp_path / "held.csv"
    held.write_text("text,label\nfine,a\nmeh,b\n", encoding="utf-8")  # eval rows: never relabelled
    report = check_rows([export], [held], overrides=[reviewed])
    assert report.train_labels == {"a": 1, "b": 4}  # bad relabelled at export.csv:3; new added
    roles = {f.role: f.rows for f in report.files}
    assert roles == {"train": 4, "overrides": 1, "eval": 2}
    assert report.eval_labels == {"a": 1, "b": 1}
