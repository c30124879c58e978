"""The audit log: every attempt at an admin action, allowed or refused, newest first."""

from __future__ import annotations

from bot.database import Database


def test_attempts_are_appended_and_listed_newest_first(db: Database) -> None:
    first = db.audit.record("U5", "retrain", False, "not an admin")
    second = db.audit.record("UADMIN", "rollback", True)
    assert second > first
    log = db.audit.recent(10)
    assert [(e.id, e.user, e.action, e.allowed, e.detail) for e in log] == [
        (second, "UADMIN", "rollback", True, ""),
        (first, "U5", "retrain", False, "not an admin"),
    ]
    assert all(e.time is not None for e in log)
    assert [e.id for e in db.audit.recent(1)] == [second] and db.audit.recent(0) == []


def test_an_attempt_without_a_user_is_kept(db: Database) -> None:
    db.audit.record(None, "help", False, "no user id in the request")
    [entry] = db.audit.recent()
    assert entry.user is None and not entry.allowed
