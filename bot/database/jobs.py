"""Retraining jobs: claimed cluster-wide (``running_task`` is unique: one running job per task),
kept alive by a lease on each replica's UTC clock (keep the hosts' clocks in sync: NTP)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.database.records import JobRecord, Repository, job_from, now
from bot.database.schema import FINAL_JOB_STATUSES, jobs

EXPIRED = "interrupted: its replica stopped renewing the lease"


class JobConflict(RuntimeError):
    """A job of the same task runs somewhere in the cluster; ``existing`` is its row."""

    def __init__(self, existing: JobRecord) -> None:
        self.existing = existing
        super().__init__(f"job {existing.id} is already running (replica {existing.owner})")


class Jobs(Repository):
    """The ``jobs`` table."""

    def claim(
        self,
        kind: str,
        requested_by: str | None,
        *,
        owner: str,
        lease: timedelta,
        channel: str | None = None,
        message_ts: str | None = None,
        task: str = "default",
    ) -> JobRecord:
        """Start a job of ``task`` owned by ``owner``, or raise :class:`JobConflict` when one
        runs anywhere (the unique ``running_task`` lets exactly one of racing claims win)."""
        for _attempt in range(5):  # while each conflicting job finishes before it is read
            started = now()
            query = insert(jobs).values(
                kind=kind,
                requested_by=requested_by,
                created=started,
                started=started,
                status="running",
                channel=channel,
                message_ts=message_ts,
                owner=owner,
                lease_expires=now(lease),
                task=task,
                running_task=task,
            )
            try:
                with self._db.write() as conn:
                    _expire(conn)
                    job_id = conn.execute(query.returning(jobs.c.id)).scalar_one()
            except IntegrityError:  # the slot is taken: rolled back, nothing was written
                existing = self.running(task)
                if existing is not None:
                    raise JobConflict(existing) from None
                continue  # the winner finished in between: claim again
            return self.get(job_id)
        raise JobConflict(self.recent(1, task)[0])

    def renew(self, job_id: int, owner: str, lease: timedelta, progress: str | None = None) -> bool:
        """Extend the lease of a job still running and owned by ``owner`` (and store its
        newest progress line); False when it is not (another replica expired it)."""
        values: dict[str, Any] = {"lease_expires": now(lease)}
        if progress is not None:
            values["progress"] = progress[:500]
        mine = [jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.status == "running"]
        with self._db.write() as conn:
            done = conn.execute(
                update(jobs).where(*mine, jobs.c.cancel_requested.is_(None)).values(**values)
            )
            return done.rowcount == 1

    def request_cancel(self, job_id: int, message: str) -> bool:
        """Ask the replica running the job to stop it (its next renewal fails and it records
        the job ``cancelled`` with ``message`` once its child exited); the task's slot stays
        taken until then. False when the job no longer runs."""
        asked = func.coalesce(jobs.c.cancel_requested, message)  # the first request's words
        with self._db.write() as conn:
            done = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(cancel_requested=asked)
            )
            return done.rowcount == 1

    def expire_stale(self) -> list[JobRecord]:
        """Mark running jobs whose lease expired as interrupted; returns those this call marked
        (each to one of several replicas calling at once)."""
        with self._db.write() as conn:
            ids = _expire(conn)
        return [self.get(job_id) for job_id in ids]

    def running(self, task: str = "default") -> JobRecord | None:
        """The running job of ``task``, or None."""
        return self._first(select(jobs).where(jobs.c.running_task == task), job_from)

    def finish(
        self,
        job_id: int,
        status: str,
        *,
        owner: str | None = None,
        version: str | None = None,
        promoted: bool | None = None,
        metrics: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> JobRecord:
        """Record the outcome of a job still running (one that expired or ended stays as it
        is) and free its task's slot; with ``owner``, only while that owner runs it. A cancel
        requested from another replica keeps its words as the message. Returns the stored row
        either way."""
        if status not in FINAL_JOB_STATUSES:
            raise ValueError(f"a job finishes as one of {FINAL_JOB_STATUSES}, not {status!r}")
        given = {
            "version": version,
            "promoted": None if promoted is None else int(promoted),
            "metrics": None if metrics is None else json.dumps(dict(metrics)),
            "message": message,
        }
        values = {k: v for k, v in given.items() if v is not None}  # None: left as stored
        values |= {"status": status, "finished": now(), "running_task": None}
        if status == "cancelled":
            given_message = jobs.c.message if message is None else message
            values["message"] = func.coalesce(jobs.c.cancel_requested, given_message)
        where = [jobs.c.id == job_id, jobs.c.status == "running"]
        if owner is not None:
            where.append(jobs.c.owner == owner)
        with self._db.write() as conn:
            conn.execute(update(jobs).where(*where).values(**values))
        return self.get(job_id)

    def get(self, job_id: int) -> JobRecord:
        """The job with this id (``LookupError`` when there is none)."""
        found = self._first(select(jobs).where(jobs.c.id == job_id), job_from)
        if found is None:
            raise LookupError(f"no job with id {job_id}")
        return found

    def recent(self, n: int = 5, task: str | None = None) -> list[JobRecord]:
        """The last ``n`` jobs (of ``task``, or of every task), newest first."""
        query = select(jobs).order_by(jobs.c.id.desc()).limit(max(0, n))
        if task is not None:
            query = query.where(jobs.c.task == task)
        return self._all(query, job_from)


def _expire(conn: Connection) -> list[int]:
    """Mark running jobs with an expired lease interrupted; their ids."""
    stamp = now()
    return list(
        conn.execute(
            update(jobs)
            .where(jobs.c.status == "running", jobs.c.lease_expires < stamp)
            .values(status="interrupted", finished=stamp, message=EXPIRED, running_task=None)
            .returning(jobs.c.id)
        ).scalars()
    )
