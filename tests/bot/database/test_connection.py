"""Opening the database: a new one is created at the newest revision (SQLite in WAL mode, or
PostgreSQL), reopened intact; an older schema asks for `python -m bot migrate`, which migrates
a database made by the first release in place; a damaged, foreign or newer one is refused and
never replaced; writes from many threads all land."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.database import (
    MIGRATE_COMMAND,
    Database,
    DatabaseError,
    migrate,
)
from bot.database.connection import tls_warning
from tests.bot.database.conftest import predict
from tests.conftest import DATA, REPO

RELEASE_FILE = DATA / "heed-release-0.1.sqlite3"


def journal_mode(db: Database) -> str:
    with db.read() as conn:
        return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())


def test_a_new_database_is_created_at_the_newest_revision(db: Database) -> None:
    assert db.revision() == migrate.head()
    tables = set(inspect(db.engine).get_table_names())
    assert {"predictions", "feedback", "jobs", "audit_log", "events", "alembic_version"} <= tables
    if db.is_sqlite:
        assert journal_mode(db) == "wal" and db.path.is_file()
        assert stat.S_IMODE(db.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(db.path.parent.stat().st_mode) == 0o700


def release_copy(tmp_path: Path) -> Path:
    """A copy of a database written by the first release's code (see tests/data/README.md)."""
    path = tmp_path / "heed.sqlite3"
    shutil.copy(RELEASE_FILE, path)
    return path


def test_a_release_database_asks_for_migrate_and_is_left_alone(tmp_path: Path) -> None:
    path = release_copy(tmp_path)
    before = path.read_bytes()
    with pytest.raises(DatabaseError) as info:
        Database(path)
    assert f"run `{MIGRATE_COMMAND}`" in str(info.value) and "older schema" in str(info.value)
    assert path.read_bytes() == before


def test_migrate_upgrades_a_release_database_in_place_keeping_every_row(tmp_path: Path) -> None:
    path = release_copy(tmp_path)
    env = {**os.environ, "HEED_DATA_DIR": str(tmp_path)}
    env.pop("HEED_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--env-file", str(tmp_path / "none")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{path}: upgraded from the first release's schema (revision 0001) to revision "
        f"{migrate.head()}"
    )
    with Database(path) as db:
        assert db.revision() == migrate.head()
        [first] = [p for p in [db.predictions.get(1)] if p]
        assert (first.text, first.label, first.message_ts) == (
            "the cable arrived on tuesday",
            "neutral",
            "1700000000.000100",
        )
        # the first release took answers from anyone: kept, but never trained on
        assert [(a.user, a.role) for a in db.predictions.answers_for(1)] == [("U2", "unverified")]
        assert db.predictions.labelled_rows() == []
        finished, left_running = db.jobs.get(1), db.jobs.get(2)
        assert (finished.status, finished.version, finished.promoted) == (
            "succeeded",
            "20260102-000000-bbbbbb",
            True,
        )
        assert left_running.status == "interrupted" and db.jobs.running() is None
        assert [(e.user, e.allowed) for e in db.audit.recent()] == [("U9", False), ("UADMIN", True)]
        assert db.jobs.claim("retrain", "U1", owner="r", lease=timedelta(seconds=9)).id == 3
        tables = set(inspect(db.engine).get_table_names())
    assert "schema_version" not in tables


def test_migrate_a_current_database_changes_nothing(database_url: str) -> None:
    with Database(database_url) as db:
        assert db.migration.state == migrate.EMPTY and db.revision() == migrate.head()
        where = db.where
    with Database(database_url, migrate=True) as db:
        assert db.migration == migrate.Migration(migrate.CURRENT, migrate.head(), migrate.head())
        assert db.migration.describe(where).endswith("nothing to do")


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    with Database(path) as db:
        pid = predict(db)
        db.predictions.record_answer(pid, "U2", "neutral", role="labeler")
        job = db.jobs.claim("retrain", "UADMIN", owner="r", lease=timedelta(seconds=30))
        db.jobs.finish(job.id, "failed", message="data.csv:3: empty text")
        db.audit.record("U2", "export", True)
    with Database(path) as db:
        assert db.predictions.get(pid).text == "the cable arrived broken"
        assert db.predictions.labelled_rows() == [("the cable arrived broken", "neutral")]
        assert db.jobs.recent(1)[0].message == "data.csv:3: empty text"
        assert db.audit.recent(1)[0].action == "export"
        assert journal_mode(db) == "wal" and db.revision() == migrate.head()


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(DatabaseError, match="is not a valid Heed database") as info:
        Database(path)
    assert "move it away or restore a backup" in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heed.sqlite3"]


def test_a_truncated_header_or_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    path.write_bytes(b"SQLite fo")
    with pytest.raises(DatabaseError, match="the file is truncated"):
        Database(path)
    assert path.read_bytes() == b"SQLite fo"
    with pytest.raises(DatabaseError, match="it is a directory"):
        Database(tmp_path)


def test_damaged_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    with Database(path) as db:
        for i in range(200):
            predict(db, f"text number {i} " * 20)
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xa5" * 4096  # clobber page 2 (a b-tree page), keep the header
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseError, match="is not a valid Heed database"):
        Database(path)
    assert path.read_bytes() == bytes(data)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match=r"other tables \(stuff\)"):
        Database(path)


def test_a_database_from_a_newer_heed_is_refused(database_url: str) -> None:
    Database(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match=r"written by a newer Heed \(revision 9999_future"):
        Database(database_url)


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = "postgresql+psycopg://heed:s3cret-pw@127.0.0.1:9/heed?connect_timeout=2"
    with pytest.raises(DatabaseError) as info:
        Database(url)
    assert "s3cret-pw" not in str(info.value) and "\n" not in str(info.value)
    assert "127.0.0.1:9" in str(info.value)


def test_concurrent_writes_from_eight_threads_all_land(db: Database) -> None:
    per_thread = 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                pid = predict(db, f"thread {n} row {i}", "neutral")
                db.predictions.record_answer(
                    pid, f"U{n}", "positive" if i % 2 else "neutral", role="labeler"
                )
                db.audit.record(f"U{n}", "classify", True, str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        seqs = conn.execute(text("SELECT seq FROM feedback")).scalars().all()
    assert len(seqs) == len(set(seqs)) == 8 * per_thread  # answers stay totally ordered
    assert len(db.predictions.labelled_rows()) == 8 * per_thread
    assert len(db.audit.recent(10_000)) == 8 * per_thread
    assert db.predictions.counts()["corrections"] == 8 * per_thread // 2


def test_a_closed_database_refuses_further_calls(db: Database) -> None:
    db.close()
    with pytest.raises(DatabaseError, match="is closed"):
        db.jobs.recent()


def test_the_password_is_never_shown(postgres_test_database: str) -> None:
    url = postgres_test_database.replace("://heed@", "://heed:s3cret-pw@")  # trust: any works
    with Database(url) as db:
        assert db.engine.url.password == "s3cret-pw"
        assert "s3cret-pw" not in repr(db) + db.where and "***" in db.where
        with db.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(DatabaseError, match="written by a newer Heed") as info:
        Database(url)
    assert "s3cret-pw" not in str(info.value)


@pytest.mark.parametrize(
    "host,ssl,warned",
    [
        ("db.internal", False, True),
        ("10.0.0.5", None, True),  # the server cannot say: assume the worst
        ("db.internal", True, False),
        ("localhost", False, False),
        ("127.0.0.1", False, False),
        ("::1", False, False),
        (None, False, False),  # a Unix socket
        ("/var/run/postgresql", False, False),
    ],
)
def test_a_database_on_another_host_without_tls_is_warned_about(
    host: str | None, ssl: bool | None, warned: bool
) -> None:
    warning = tls_warning("postgresql+psycopg://heed:***@db/heed", host, ssl)
    assert (warning is not None) is warned
    if warning:
        assert "sslmode=verify-full" in warning and "***" in warning


def test_a_local_database_starts_without_a_tls_warning(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), Database(database_url):
        pass
    assert "TLS" not in caplog.text
