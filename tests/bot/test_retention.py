"""What Heed keeps and for how long: unanswered texts and old exports expire, crashed staging
folders and old versions go (never the serving or rollback ones), and forget leaves no text of
the person anywhere Heed keeps text."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot.database import Database
from bot.database.exports import write_jsonl, write_private
from bot.retention import Retention, TombstoneSweep, forget_in_exports
from classifier.store import ModelStore

DAY = 86400.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "heed.sqlite3")
    yield database
    database.close()


def predict(db: Database, text: str, user: str = "U1", days_ago: float = 0.0) -> int:
    pid = db.predictions.record(text=text, label="neutral", user=user, channel="C1")
    if days_ago:
        with db.write() as conn:
            conn.execute(
                sql("UPDATE predictions SET created = :t WHERE id = :id"),
                {
                    "t": f"{time.strftime('%Y-%m-%d', time.gmtime(time.time() - days_ago * DAY))}"
                    "T00:00:00.000000+00:00",
                    "id": pid,
                },
            )
    return pid


def version_dir(root: Path, version: str) -> None:
    (root / version).mkdir(parents=True)
    (root / version / "model.safetensors").write_bytes(b"x")
    (root / version / "config.json").write_text("{}")


def retention(db: Database, tmp_path: Path, **kw: object) -> Retention:
    options = {"days": 90, "keep_versions": 2, "exports_dir": tmp_path / "exports"}
    options.update(kw)
    return Retention(db, ModelStore(tmp_path / "models"), staging_grace_s=3600, **options)


def test_unanswered_texts_expire_answered_ones_stay(db: Database, tmp_path: Path) -> None:
    old = predict(db, "old and unanswered", days_ago=100)
    answered = predict(db, "old but answered", days_ago=100)
    recent = predict(db, "recent and unanswered", days_ago=10)
    db.predictions.record_answer(answered, "ULAB", "positive", role="labeler")
    assert retention(db, tmp_path).run().predictions == 1
    assert db.predictions.get(old) is None
    assert db.predictions.get(answered) is not None and db.predictions.get(recent) is not None


def test_old_exports_staging_folders_and_versions_are_pruned(db: Database, tmp_path: Path) -> None:
    exports, models = tmp_path / "exports", tmp_path / "models"
    exports.mkdir()
    (exports / "old.jsonl").write_text("{}\n")
    (exports / "new.jsonl").write_text("{}\n")
    stale = time.time() - 100 * DAY
    os.utime(exports / "old.jsonl", (stale, stale))
    versions = [f"2026010{i}-000000-aaaaaa" for i in range(1, 7)]
    for version in versions:
        version_dir(models, version)
    (models / ".staging-crashed").mkdir()
    os.utime(models / ".staging-crashed", (stale, stale))
    (models / ".staging-running").mkdir()  # a training writing right now
    store = ModelStore(models)
    store.promote(versions[0])
    store.promote(versions[1])  # serving; versions[0] is what a rollback returns to
    db.shadows.start("default", versions[3], "UADMIN")  # a shadow is never pruned either
    swept = retention(db, tmp_path).run()
    assert (swept.exports, swept.staging) == (1, 1)
    assert sorted(p.name for p in exports.iterdir()) == ["new.jsonl"]
    assert (models / ".staging-running").is_dir() and not (models / ".staging-crashed").exists()
    assert set(swept.versions) == {versions[2]}
    assert store.versions() == [versions[0], versions[1], *versions[3:]]
    assert store.current() == versions[1] and store.rollback() == (versions[1], versions[0])


def test_forget_leaves_no_text_of_that_person(db: Database, tmp_path: Path) -> None:
    mine = predict(db, "my private rant about the boss", user="UGONE")
    theirs = predict(db, "someone else's message", user="U2")
    db.predictions.record_answer(mine, "ULAB", "negative", role="labeler")
    db.predictions.record_answer(theirs, "UGONE", "positive", role="labeler")
    rows = [("my private rant about the boss", "negative"), ("someone else's message", "x")]
    path = tmp_path / "exports" / "corrections-1.jsonl"
    write_private(path, lambda handle: write_jsonl(handle, rows))
    gone = db.forgetting.forget_person("UGONE")
    assert (gone.predictions, gone.answers) == (1, 1)
    assert forget_in_exports(tmp_path / "exports", gone.texts) == 1
    assert "rant" not in path.read_text(encoding="utf-8")
    assert [json.loads(line)["text"] for line in path.read_text().splitlines()] == [
        "someone else's message"
    ]
    with db.read() as conn:
        dump = json.dumps(
            [
                list(map(str, row))
                for t in ("predictions", "feedback")
                for row in conn.execute(sql(f"SELECT * FROM {t}"))
            ]
        )
    assert "rant" not in dump and "UGONE" not in dump
    assert db.predictions.get(theirs) is not None and db.predictions.answers_for(theirs) == []


def test_every_replica_applies_the_tombstones_to_its_own_exports(
    db: Database, tmp_path: Path
) -> None:
    rows = [("the other replica kept this", "negative"), ("and this stays", "neutral")]
    theirs = tmp_path / "replica-b" / "exports" / "corrections-1.jsonl"
    write_private(theirs, lambda handle: write_jsonl(handle, rows))
    sweep = TombstoneSweep(db, theirs.parent)  # replica B's, each reaper round
    assert sweep() == 0
    predict(db, "the other replica kept this", user="UGONE")
    db.forgetting.forget_person("UGONE")  # on replica A, whose exports are elsewhere
    assert sweep() == 1
    assert [json.loads(line)["text"] for line in theirs.read_text().splitlines()] == [
        "and this stays"
    ]
    write_private(theirs, lambda handle: write_jsonl(handle, rows))  # written meanwhile
    assert sweep() == 0  # only new tombstones each round
    retention(db, tmp_path, exports_dir=theirs.parent).run()  # the hourly sweep: all of them
    assert "kept this" not in theirs.read_text()


def test_expired_texts_leave_no_bytes_in_the_database_files(db: Database, tmp_path: Path) -> None:
    predict(db, "an expired secret about the okapi", days_ago=100)
    assert retention(db, tmp_path).run().predictions == 1
    held = [p.name for p in tmp_path.glob("heed.sqlite3*") if b"okapi" in p.read_bytes()]
    assert held == []


def test_audit_entries_older_than_the_audit_days_are_deleted(db: Database, tmp_path: Path) -> None:
    old = db.audit.record("U1", "status", False, "not listed in HEED_ADMINS")
    kept = db.audit.record("U1", "status", True, "listed in HEED_ADMINS")
    with db.write() as conn:
        conn.execute(
            sql("UPDATE audit_log SET time = :t WHERE id = :id"),
            {"t": "2000-01-01T00:00:00.000000+00:00", "id": old},
        )
    swept = retention(db, tmp_path, audit_days=365).run()
    assert swept.audit == 1 and [e.id for e in db.audit.recent()] == [kept]
