"""Alembic revisions: 0001 is the first release's schema, upgrades keep every row and id,
replicas opening one empty database together create it once, `python -m bot migrate` says
what it did, and an older revision stops start-up until it runs."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bot.__main__ import main
from bot.database import Database, DatabaseError, migrate
from bot.database.queue import QueueOffer
from tests.bot.database.conftest import predict
from tests.conftest import DATA

RELEASE_FILE = DATA / "heed-release-0.1.sqlite3"
LEASE = timedelta(seconds=30)


def schema_of(path: Path) -> list[tuple[str, ...]]:
    """Every table and index of an SQLite file as DDL (whitespace folded), Alembic's and the
    first release's own version tables left out."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT IN "
            "('alembic_version', 'schema_version', 'sqlite_sequence') ORDER BY name"
        ).fetchall()
    finally:
        conn.close()
    return [tuple(re.sub(r"\s+", " ", value or "") for value in row) for row in rows]


def upgrade_to(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            step = command.downgrade if down else command.upgrade
            step(migrate._config(conn), revision)
    finally:
        engine.dispose()


def test_revision_0001_is_exactly_the_first_release_schema(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    upgrade_to(f"sqlite:///{fresh}", "0001")
    assert schema_of(fresh) == schema_of(RELEASE_FILE)
    assert len(schema_of(fresh)) == 8  # four tables, three indexes, feedback's UNIQUE


def test_the_upgraded_release_file_keeps_ids_counters_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    shutil.copy(RELEASE_FILE, path)
    with Database(path, migrate=True) as db:
        assert db.migration == migrate.Migration(migrate.RELEASE, "0001", migrate.head())
        with db.read() as conn:
            counters = dict(conn.execute(text("SELECT name, seq FROM sqlite_sequence")).all())
        assert counters == {"predictions": 2, "feedback": 2, "jobs": 2, "audit_log": 2}
        with pytest.raises(IntegrityError), db.write() as conn:  # the status CHECK is kept
            conn.execute(text("UPDATE jobs SET status = 'queued' WHERE id = 1"))
        assert db.jobs.get(1).status == "succeeded"
    with Database(path, migrate=True) as db:
        assert db.migration.state == migrate.CURRENT


def test_an_older_revision_stops_start_up_until_migrate_keeps_every_row(
    database_url: str,
) -> None:
    with Database(database_url) as db:
        pid = predict(db)
        db.predictions.record_answer(pid, "U1", "neutral", role="asker", user_name="ann")
        db.predictions.record_answer(pid, "U2", "positive", role="labeler")
        done = db.jobs.claim("retrain", "UADMIN", owner="a", lease=LEASE)
        db.jobs.finish(done.id, "succeeded", owner="a", version="v1", promoted=True)
        dead = db.jobs.claim("retrain", "UADMIN", owner="a", lease=timedelta(0))
        assert [j.id for j in db.jobs.expire_stale()] == [dead.id]
        db.audit.record("UADMIN", "retrain", True)
        assert db.events.claim(["event:Ev1"])
    upgrade_to(database_url, "0001", down=True)  # as an older Heed left it
    with pytest.raises(
        DatabaseError, match=rf"older schema \(0001; this Heed needs {migrate.head()}\)"
    ):
        Database(database_url)
    with Database(database_url, migrate=True) as db:
        assert db.migration == migrate.Migration(migrate.OLD, "0001", migrate.head())
        # answers from before roles: the asker's is kept as the asker's, anyone else's is
        # unverified and never trained on
        assert db.predictions.labelled_rows() == [("the cable arrived broken", "neutral")]
        answers = db.predictions.answers_for(pid)
        assert [(a.user, a.role) for a in answers] == [("U1", "asker"), ("U2", "unverified")]
        assert answers[0].user_name == "ann"
        assert db.predictions.get(pid).source == "classify"
        assert [(j.id, j.status, j.version) for j in db.jobs.recent()] == [
            (dead.id, "failed", None),  # 0001 had no interrupted: downgraded to failed
            (done.id, "succeeded", "v1"),
        ]
        assert [e.action for e in db.audit.recent()] == ["retrain"]
        assert db.events.claim(["event:Ev1"])  # 0001 had no events table
        assert db.jobs.claim("retrain", "U1", owner="b", lease=LEASE).id == dead.id + 1


def test_replicas_opening_one_empty_database_together_create_it_once(
    database_url: str,
) -> None:
    barrier = threading.Barrier(6)
    states: list[str] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            barrier.wait()
            with Database(database_url) as db:
                states.append(db.migration.state)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(states) == [migrate.CURRENT] * 5 + [migrate.EMPTY]


def test_migrate_command_says_what_it_did(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HEED_DATABASE_URL", database_url)
    no_env = ["--env-file", str(tmp_path / "none")]
    with caplog.at_level(logging.INFO, logger="bot.database"):
        assert main(["migrate", *no_env]) == 0
    assert capsys.readouterr().out.endswith(f": created at revision {migrate.head()}\n")
    assert [r.getMessage() for r in caplog.records][-1].endswith(
        f"created at revision {migrate.head()}"
    )
    assert main(["migrate", *no_env]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f": already at revision {migrate.head()}; nothing to do\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://heed:hunter2@db/heed", "HEED_DATABASE_URL must be sqlite:///PATH"),
        ("postgresql+psycopg://heed:hunter2@127.0.0.1:9/heed", "cannot use the Heed database"),
        ("::hunter2", "HEED_DATABASE_URL must be a URL like"),
    ],
)
def test_migrate_command_fails_in_one_line_without_the_password(
    url: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HEED_DATABASE_URL", url)
    assert main(["migrate", "--env-file", str(tmp_path / "none")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"error: {message}")
    assert captured.err.count("\n") == 1 and "hunter2" not in captured.err


def test_a_foreign_or_newer_database_is_refused_by_migrate_too(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    shutil.copy(RELEASE_FILE, path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (2, 'a later first-release-style Heed')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=r"written by a newer Heed \(revision schema_version"):
        Database(path, migrate=True)
    assert path.read_bytes() == before


def test_revision_0004_puts_earlier_rows_in_the_default_task(database_url: str) -> None:
    with Database(database_url) as db:
        pid = predict(db)
        db.predictions.record_answer(pid, "U2", "positive", role="labeler")
        running = db.jobs.claim("retrain", "UADMIN", owner="a", lease=LEASE)
    upgrade_to(database_url, "0003", down=True)  # as the trust release left it
    engine = create_engine(database_url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT running_slot FROM jobs")).scalar_one() == 1
    engine.dispose()
    upgrade_to(database_url, "head")
    with Database(database_url) as db:
        assert db.predictions.get(pid).task == "default"
        assert db.predictions.labelled_rows("default") == [("the cable arrived broken", "positive")]
        assert db.predictions.labelled_rows("support") == []
        assert db.jobs.running("default").id == running.id
        with pytest.raises(Exception, match="already running"):
            db.jobs.claim("retrain", "UADMIN", owner="b", lease=LEASE)
        other = db.jobs.claim("retrain", "UADMIN", owner="b", lease=LEASE, task="support")
        assert other.task == "support"


def test_revision_0005_adds_the_labelling_queue_and_keeps_every_row(database_url: str) -> None:
    with Database(database_url) as db:
        pid = predict(db)
        db.predictions.record_answer(pid, "U2", "positive", role="labeler")
    upgrade_to(database_url, "0004", down=True)  # as the tasks release left it
    engine = create_engine(database_url)
    with engine.begin() as conn:
        revisions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    engine.dispose()
    assert revisions == {"0004"}
    with Database(database_url, migrate=True) as db:
        assert db.migration == migrate.Migration(migrate.OLD, "0004", migrate.head())
        assert db.predictions.labelled_rows() == [("the cable arrived broken", "positive")]
        assert db.queue.top("default", 5) == []  # answered before the queue existed
        queued = db.predictions.record(
            text="new and unsure",
            label="neutral",
            scores={"neutral": 0.5, "positive": 0.5},
            queue=QueueOffer(1.0),
        )
        assert [i.prediction.id for i in db.queue.top("default", 5)] == [queued]
