"""The database file: created with its schema in WAL mode, reopened intact, never replaced
when damaged or foreign, safe to write from many threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.database import DB_FILENAME, Database, DatabaseError, default_path
from bot.database.schema import MIGRATIONS, SCHEMA_VERSION
from tests.bot.database.conftest import predict


def test_schema_created_with_wal(db: Database) -> None:
    assert db.path.is_file()
    assert db.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    assert db.journal_mode() == "wal"
    conn = sqlite3.connect(db.path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"schema_version", "predictions", "feedback", "jobs", "audit_log"} <= tables


def test_default_path_uses_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEED_DATA_DIR", str(tmp_path / "d"))
    assert default_path() == tmp_path / "d" / DB_FILENAME == tmp_path / "d" / "heed.sqlite3"
    monkeypatch.delenv("HEED_DATA_DIR")
    assert default_path() == Path("var") / "heed.sqlite3"


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    with Database(path) as db:
        pid = predict(db)
        db.predictions.record_answer(pid, "U2", "neutral")
        job = db.jobs.start("retrain", "UADMIN")
        db.jobs.finish(job.id, "failed", message="data.csv:3: empty text")
        db.audit.record("U2", "export", True)
    with Database(path) as db:
        assert db.predictions.get(pid).text == "the cable arrived broken"
        assert db.predictions.labelled_rows() == [("the cable arrived broken", "neutral")]
        assert db.jobs.recent(1)[0].message == "data.csv:3: empty text"
        assert db.audit.recent(1)[0].action == "export"
        assert db.journal_mode() == "wal" and db.schema_version() == SCHEMA_VERSION


def test_a_closed_database_refuses_further_calls(tmp_path: Path) -> None:
    db = Database(tmp_path / "heed.sqlite3")
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.jobs.recent()


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


def test_a_database_from_a_newer_heed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="written by a newer Heed"):
        Database(path)


def test_concurrent_writes_from_eight_threads_all_land(db: Database) -> None:
    per_thread = 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                pid = predict(db, f"thread {n} row {i}", "neutral")
                db.predictions.record_answer(pid, f"U{n}", "positive" if i % 2 else "neutral")
                db.audit.record(f"U{n}", "classify", True, str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(db.predictions.labelled_rows()) == 8 * per_thread
    assert len(db.audit.recent(10_000)) == 8 * per_thread
    assert db.predictions.counts()["corrections"] == 8 * per_thread // 2
