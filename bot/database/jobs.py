"""Retraining jobs as stored: started, finished, listed; stale ones failed at start-up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.database.records import JobRecord, job_from, now
from bot.database.schema import FINAL_JOB_STATUSES

if TYPE_CHECKING:
    from bot.database.connection import Database


class Jobs:
    """The ``jobs`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(
        self,
        kind: str,
        requested_by: str | None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
    ) -> JobRecord:
        """Record a new running job and return it."""
        started = now()
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (kind, requested_by, created, started, status, channel, "
                "message_ts) VALUES (?,?,?,?,?,?,?)",
                (kind, requested_by, started, started, "running", channel, message_ts),
            )
            job_id = int(cursor.lastrowid)
        return self.get(job_id)

    def finish(
        self,
        job_id: int,
        status: str,
        *,
        version: str | None = None,
        promoted: bool | None = None,
        metrics: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> JobRecord:
        """Record a job's outcome (succeeded, failed, cancelled or timed_out)."""
        if status not in FINAL_JOB_STATUSES:
            raise ValueError(f"a job finishes as one of {FINAL_JOB_STATUSES}, not {status!r}")
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = ?, finished = ?, version = COALESCE(?, version), "
                "promoted = COALESCE(?, promoted), metrics = COALESCE(?, metrics), "
                "message = COALESCE(?, message) WHERE id = ?",
                (
                    status,
                    now(),
                    version,
                    None if promoted is None else int(promoted),
                    json.dumps(dict(metrics)) if metrics is not None else None,
                    message,
                    job_id,
                ),
            )
            if cursor.rowcount == 0:
                raise LookupError(f"no job with id {job_id}")
        return self.get(job_id)

    def get(self, job_id: int) -> JobRecord:
        """The job with this id (``LookupError`` when there is none)."""
        rows = self._db.read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise LookupError(f"no job with id {job_id}")
        return job_from(rows[0])

    def recent(self, n: int = 5) -> list[JobRecord]:
        """The last ``n`` jobs, newest first."""
        rows = self._db.read("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (max(0, n),))
        return [job_from(r) for r in rows]

    def fail_stale(self, message: str = "interrupted: the bot stopped while this job ran") -> int:
        """Mark running jobs left by a previous run of the bot as failed; returns how many.

        Call once at start-up, before any job starts in this process.
        """
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'failed', finished = ?, message = ? "
                "WHERE status = 'running'",
                (now(), message),
            )
            return cursor.rowcount
