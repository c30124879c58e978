"""The suspects run from the bot's side: its JSON result typed (never trusted blindly), its
count kept on the job row for the retrain preview, and a child that overruns stopped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.database import Database
from bot.retrain.jobs import Preview
from bot.retrain.messages import preview_blocks
from bot.retrain.suspects import SuspectsRun, last_suspects_count, parse_suspects
from tests.bot.retrain.test_runner import fake_python, runner_for
from tests.conftest import make_rows, write_csv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "heed.sqlite3")
    yield database
    database.close()


GOOD = {"file": "e.csv", "line": 3, "text": "t", "given": "a", "suggested": "b", "score": 0.9}


def test_the_result_keeps_well_formed_suspects_only() -> None:
    bad = [{**GOOD, "line": "3"}, {**GOOD, "score": True}, "nope", {**GOOD, "text": None}]
    result = parse_suspects({"ok": True, "rows": 10, "suspects": [GOOD, *bad]}, 0)
    assert result.ok and result.rows == 10
    assert [(s.file, s.line, s.suggested, s.score) for s in result.suspects] == [
        ("e.csv", 3, "b", 0.9)
    ]


def test_a_failure_is_one_line_by_its_kind() -> None:
    payload = {
        "ok": False,
        "error": {
            "kind": "data",
            "message": "bad",
            "problems": [{"file": "e.csv", "line": 2, "reason": "empty text"}],
        },
    }
    result = parse_suspects(payload, 2)
    assert not result.ok and result.reason == "the training data is invalid: e.csv:2: empty text"
    assert "killed by SIGKILL" in parse_suspects(None, -9).reason


def test_the_last_run_count_reaches_the_preview(db: Database) -> None:
    assert last_suspects_count(db, "default") is None
    job = db.jobs.claim("suspects", "U1", owner="r", lease=timedelta(seconds=30))
    db.jobs.finish(job.id, "succeeded", metrics={"suspects": 7, "rows": 100})
    db.jobs.finish(
        db.jobs.claim("retrain", "U1", owner="r", lease=timedelta(seconds=30)).id, "failed"
    )
    assert last_suspects_count(db, "default") == 7
    assert last_suspects_count(db, "other") is None
    text = str(preview_blocks(Preview(serving=None, suspects_found=7))[1])
    assert "the last `/heed-admin suspects` run found 7 rows" in text


def test_an_overrunning_child_is_stopped_and_recorded(tmp_path: Path, db: Database) -> None:
    export = write_csv(tmp_path / "e.csv", make_rows(2))
    runner = runner_for(
        tmp_path,
        db,
        [export],
        timeout_s=0.5,
        lease_s=0.6,
        python=fake_python(tmp_path, "sleep 30"),
        kill_grace_s=0.5,
    )
    done = threading.Event()
    outcome = []
    run = SuspectsRun(
        runner, "U1", lambda event: None, lambda result: (outcome.append(result), done.set())
    )
    job_id = run.start()
    assert done.wait(20)
    assert not outcome[0].ok and "timed out" in outcome[0].reason
    record = db.jobs.get(job_id)
    assert (record.kind, record.status) == ("suspects", "failed")
    assert db.jobs.running("default") is None
