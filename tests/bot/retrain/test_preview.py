"""The preview: the exports and corrections checked in-process as the run would read them, the
corrections since the serving model and who gave them, and the rows held for review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.database import Database
from bot.retrain.commands import build_preview
from bot.retrain.runner import RetrainRunner
from tests.conftest import make_rows, write_csv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "heed.sqlite3")
    yield database
    database.close()


def answer(db: Database, text: str, label: str, user: str, task: str = "default") -> int:
    pid = db.predictions.record(text=text, label="neutral", task=task)
    db.predictions.record_answer(pid, user, label, role="labeler")
    return pid


def test_the_preview_counts_this_tasks_rows(tmp_path: Path, db: Database) -> None:
    export = write_csv(tmp_path / "export.csv", make_rows(4))
    answer(db, "it broke", "negative", "U1")
    answer(db, "love it", "positive", "U2")
    disputed = answer(db, "who knows", "positive", "U1")
    db.predictions.record_answer(disputed, "U2", "negative", role="labeler")
    answer(db, "another task's row", "positive", "U3", task="support")
    runner = RetrainRunner(tmp_path / "models", [export], db, timeout_s=5)
    preview = build_preview(runner, db, "v1", "2020-01-01T00:00:00")
    assert not preview.problems and (preview.corrections, preview.held) == (2, 1)
    assert preview.new_labels == {"negative": 1, "positive": 1}
    assert preview.new_by == {"U1": 1, "U2": 1}
    assert preview.report is not None and preview.report.eval_rows == 3
    assert [(Path(f.path).name, f.role, f.rows) for f in preview.report.files] == [
        ("export.csv", "train", 12),
        ("heed-corrections.jsonl", "train-only", 2),
    ]
    later = build_preview(runner, db, "v1", "2999-01-01T00:00:00")
    assert later.new_labels == {} and later.corrections == 2


def test_every_data_problem_is_kept(tmp_path: Path, db: Database) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n" + "".join(f",x{i}\n" for i in range(14)), encoding="utf-8")
    runner = RetrainRunner(tmp_path / "models", [bad], db, timeout_s=5)
    preview = build_preview(runner, db, None, None)
    assert len(preview.problems) == 14 and preview.report is None
    assert str(preview.problems[0]).endswith("bad.csv:2: empty text")
