"""The audit log: every attempt at an admin action, allowed or refused, with the reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select

from bot.database.records import AuditEntry, Repository, audit_from, now
from bot.database.schema import audit_log


class AuditLog(Repository):
    """The ``audit_log`` table (append only)."""

    def record(self, user: str | None, action: str, allowed: bool, detail: str = "") -> int:
        """Append one attempt at an admin action (allowed or refused); returns its id."""
        query = insert(audit_log).values(
            time=now(), user=user, action=action, allowed=int(bool(allowed)), detail=detail or ""
        )
        with self._db.write() as conn:
            return int(conn.execute(query.returning(audit_log.c.id)).scalar_one())

    def recent(self, n: int = 50) -> list[AuditEntry]:
        """The last ``n`` audit entries, newest first."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(max(0, n))
        return self._all(query, audit_from)

    def prune(self, older_than: timedelta) -> int:
        """Delete the entries older than ``older_than`` (``HEED_AUDIT_DAYS``); how many."""
        with self._db.write() as conn:
            return conn.execute(
                delete(audit_log).where(audit_log.c.time < now(-older_than))
            ).rowcount
