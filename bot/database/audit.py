"""The audit log: every attempt at an admin action, allowed or refused, with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.database.records import AuditEntry, audit_from, now

if TYPE_CHECKING:
    from bot.database.connection import Database


class AuditLog:
    """The ``audit_log`` table (append only)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, user: str | None, action: str, allowed: bool, detail: str = "") -> int:
        """Append one attempt at an admin action (allowed or refused); returns its id."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO audit_log (time, user, action, allowed, detail) VALUES (?,?,?,?,?)",
                (now(), user, action, int(bool(allowed)), detail or ""),
            )
            return int(cursor.lastrowid)

    def recent(self, n: int = 50) -> list[AuditEntry]:
        """The last ``n`` audit entries, newest first."""
        rows = self._db.read("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (max(0, n),))
        return [audit_from(r) for r in rows]
