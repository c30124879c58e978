"""FeedbackStore: durable SQLite for predictions, answers, jobs and the audit log."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.feedback import (
    SCHEMA_VERSION,
    FeedbackStore,
    FeedbackStoreError,
    PredictionNotFoundError,
    default_path,
)
from training.data import read_export


@pytest.fixture
def db(tmp_path: Path) -> FeedbackStore:
    store = FeedbackStore(tmp_path / "data" / "heed.sqlite3")
    yield store
    store.close()


def predict(store: FeedbackStore, text: str = "the cable arrived broken", label: str = "negative"):
    return store.record_prediction(
        text=text,
        label=label,
        confidence=0.8,
        scores={"negative": 0.8, "neutral": 0.15, "positive": 0.05},
        model_version="20261126-191500-a1b2c3",
        method="attention",
        channel="C1",
        user="U1",
    )


def test_schema_created_with_wal(db: FeedbackStore) -> None:
    assert db.path.is_file()
    assert db.schema_version() == SCHEMA_VERSION
    assert db.journal_mode() == "wal"
    conn = sqlite3.connect(db.path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"schema_version", "predictions", "feedback", "jobs", "audit_log"} <= tables


def test_default_path_uses_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEED_DATA_DIR", str(tmp_path / "d"))
    assert default_path() == tmp_path / "d" / "heed.sqlite3"


def test_record_and_read_prediction(db: FeedbackStore) -> None:
    pid = predict(db)
    got = db.prediction(pid)
    assert got is not None
    assert (got.text, got.label, got.confidence) == ("the cable arrived broken", "negative", 0.8)
    assert got.scores == {"negative": 0.8, "neutral": 0.15, "positive": 0.05}
    assert (got.model_version, got.method, got.channel, got.user) == (
        "20261126-191500-a1b2c3",
        "attention",
        "C1",
        "U1",
    )
    assert got.message_ts is None
    db.set_prediction_message(pid, channel="C1", message_ts="1700000000.000100")
    assert db.prediction(pid).message_ts == "1700000000.000100"
    assert db.prediction(pid + 100) is None


def test_feedback_replaces_same_users_answer(db: FeedbackStore) -> None:
    pid = predict(db)
    first = db.record_feedback(pid, "U2", "negative", user_name="ana")
    assert (first.is_correction, first.replaced) == (False, False)
    assert first.predicted_label == "negative"
    second = db.record_feedback(pid, "U2", "neutral")
    assert (second.chosen_label, second.is_correction, second.replaced) == ("neutral", True, True)
    assert second.user_name == "ana"  # kept when the later answer does not name the user
    answers = db.feedback_for(pid)
    assert [(a.user, a.chosen_label) for a in answers] == [("U2", "neutral")]
    db.record_feedback(pid, "U3", "negative")
    assert [(a.user, a.chosen_label) for a in db.feedback_for(pid)] == [
        ("U2", "neutral"),
        ("U3", "negative"),
    ]
    assert db.feedback_counts() == {
        "answers": 2,
        "corrections": 1,
        "confirmations": 1,
        "labelled_rows": 1,
    }


def test_feedback_on_unknown_prediction_raises(db: FeedbackStore) -> None:
    with pytest.raises(PredictionNotFoundError):
        db.record_feedback(42, "U2", "negative")
    pid = predict(db)
    with pytest.raises(ValueError):
        db.record_feedback(pid, "U2", "  ")


def test_corrections_latest_answer_wins(db: FeedbackStore) -> None:
    confirmed = predict(db, "love it, perfect", "positive")
    corrected = predict(db, "arrived on tuesday", "negative")
    disputed = predict(db, "the box was fine", "positive")
    predict(db, "nobody answered this one", "neutral")
    db.record_feedback(confirmed, "U2", "positive")
    db.record_feedback(corrected, "U2", "neutral")
    db.record_feedback(disputed, "U2", "neutral")
    db.record_feedback(disputed, "U3", "negative")
    assert db.corrections()[-1] == ("the box was fine", "negative")
    db.record_feedback(disputed, "U2", "neutral")  # U2 answers again: now the latest
    assert db.corrections() == [
        ("love it, perfect", "positive"),
        ("arrived on tuesday", "neutral"),
        ("the box was fine", "neutral"),
    ]


def test_export_csv_round_trips_through_training_data(db: FeedbackStore, tmp_path: Path) -> None:
    tricky = 'a "quoted", comma\nand a second line — ünïcode'
    for text, label in [(tricky, "positive"), ("plain", "negative"), ("fine", "neutral")]:
        db.record_feedback(predict(db, text, "neutral"), "U2", label)
    path = tmp_path / "exports" / "corrections.csv"
    assert db.export_corrections_csv(path) == 3
    examples = read_export(path)
    assert [(e.text, e.label) for e in examples] == [
        (tricky, "positive"),
        ("plain", "negative"),
        ("fine", "neutral"),
    ]
    buffer = io.StringIO()
    assert db.export_corrections_csv(buffer) == 3
    assert buffer.getvalue() == path.read_text(encoding="utf-8")
    assert db.export_corrections_bytes() == path.read_bytes()


def test_jobs_and_audit(db: FeedbackStore) -> None:
    job = db.start_job("retrain", "UADMIN", channel="C9")
    assert job.status == "running" and job.started is not None and job.active
    assert db.running_job().id == job.id
    db.update_job(job.id, message_ts="1700000000.1")
    done = db.finish_job(
        job.id, "succeeded", version="v1", promoted=True, metrics={"macro_f1": 0.9}
    )
    assert (done.status, done.version, done.promoted, done.metrics) == (
        "succeeded",
        "v1",
        True,
        {"macro_f1": 0.9},
    )
    assert done.finished is not None and done.message_ts == "1700000000.1"
    assert db.running_job() is None
    second = db.start_job("retrain", "UADMIN")
    assert [j.id for j in db.recent_jobs(5)] == [second.id, job.id]
    assert db.fail_stale_jobs() == 1
    assert db.job(second.id).status == "failed"
    with pytest.raises(ValueError):
        db.finish_job(second.id, "running")
    with pytest.raises(ValueError):
        db.update_job(second.id, status="exploded")

    db.audit("U5", "retrain", False, "not an admin")
    db.audit("UADMIN", "rollback", True)
    log = db.audit_log(10)
    assert [(e.user, e.action, e.allowed, e.detail) for e in log] == [
        ("UADMIN", "rollback", True, ""),
        ("U5", "retrain", False, "not an admin"),
    ]


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    with FeedbackStore(path) as store:
        pid = predict(store)
        store.record_feedback(pid, "U2", "neutral")
        job = store.start_job("retrain", "UADMIN")
        store.finish_job(job.id, "failed", message="data.csv:3: empty text")
        store.audit("U2", "export", True)
    with FeedbackStore(path) as store:
        assert store.prediction(pid).text == "the cable arrived broken"
        assert store.corrections() == [("the cable arrived broken", "neutral")]
        assert store.recent_jobs(1)[0].message == "data.csv:3: empty text"
        assert store.audit_log(1)[0].action == "export"
        assert store.journal_mode() == "wal"


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(FeedbackStoreError, match="is not a valid Heed database") as info:
        FeedbackStore(path)
    assert "move it away or restore a backup" in str(info.value)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heed.sqlite3"]


def test_damaged_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "heed.sqlite3"
    with FeedbackStore(path) as store:
        for i in range(200):
            predict(store, f"text number {i} " * 20)
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xa5" * 4096  # clobber page 2 (a b-tree page), keep the header
    path.write_bytes(bytes(data))
    with pytest.raises(FeedbackStoreError, match="is not a valid Heed database"):
        FeedbackStore(path)
    assert path.read_bytes() == bytes(data)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(FeedbackStoreError, match="other tables"):
        FeedbackStore(path)


def test_concurrent_writes_from_eight_threads_all_land(db: FeedbackStore) -> None:
    per_thread = 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                pid = predict(db, f"thread {n} row {i}", "neutral")
                db.record_feedback(pid, f"U{n}", "positive" if i % 2 else "neutral")
                db.audit(f"U{n}", "classify", True, str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(db.corrections()) == 8 * per_thread
    assert len(db.audit_log(10_000)) == 8 * per_thread
    assert db.feedback_counts()["corrections"] == 8 * per_thread // 2
