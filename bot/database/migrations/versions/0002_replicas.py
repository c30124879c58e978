"""Replicas: job leases and a cluster-wide running slot, event keys, no more schema_version.

Jobs gain ``owner`` (the replica running it), ``lease_expires`` (renewed while it runs),
``progress`` (its newest line, for the other replicas) and ``running_slot`` (1 while running,
unique: at most one running job in the whole cluster); status ``queued`` (never used) is gone
and ``interrupted`` is new. Jobs a stopped bot left ``queued`` or ``running`` are marked
interrupted. ``events`` holds the Slack event keys already handled. The first release's
``schema_version`` table goes: that release then refuses the file instead of using it.

SQLite cannot change a CHECK in place, so ``jobs`` is rebuilt there by hand — the same table
with the new columns, ``AUTOINCREMENT`` and its checks kept, every row and id copied.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEFT_RUNNING = "interrupted: the bot stopped while this job ran"
STATUSES = "'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted'"
RELEASE_STATUSES = "'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'"
RELEASE_COLUMNS = (
    "id, kind, requested_by, created, started, finished, status, version, promoted, metrics, "
    "message, channel, message_ts"
)
NEW_COLUMNS = ("owner", "lease_expires", "progress", "running_slot")
_LEFT = "status IN ('queued', 'running')"
UPGRADE_SELECT = (
    "id, kind, requested_by, created, started, "
    f"CASE WHEN {_LEFT} THEN COALESCE(finished, :now) ELSE finished END, "
    f"CASE WHEN {_LEFT} THEN 'interrupted' ELSE status END, "
    "version, promoted, metrics, "
    f"CASE WHEN {_LEFT} THEN :message ELSE message END, "
    "channel, message_ts, NULL, NULL, NULL, NULL"
)
DOWNGRADE_SELECT = (
    "id, kind, requested_by, created, started, finished, "
    "CASE WHEN status = 'interrupted' THEN 'failed' ELSE status END, "
    "version, promoted, metrics, message, channel, message_ts"
)
JOBS_SQLITE = """CREATE TABLE {name} (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT    NOT NULL,
        requested_by  TEXT,
        created       TEXT    NOT NULL,
        started       TEXT,
        finished      TEXT,
        status        TEXT    NOT NULL CHECK (status IN ({statuses})),
        version       TEXT,
        promoted      INTEGER CHECK (promoted IN (0, 1)),
        metrics       TEXT,
        message       TEXT,
        channel       TEXT,
        message_ts    TEXT{extra}
    )"""
REPLICA_COLUMNS_SQLITE = """,
        owner         TEXT,
        lease_expires TEXT,
        progress      TEXT,
        running_slot  INTEGER CHECK (running_slot = 1),
        CONSTRAINT jobs_running_slot UNIQUE (running_slot)"""


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    """Add the lease columns, the running slot and the events table."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    left = {"now": now, "message": LEFT_RUNNING}
    if _sqlite():
        op.execute("DROP TABLE IF EXISTS schema_version")
        _rebuild_jobs_sqlite(REPLICA_COLUMNS_SQLITE, STATUSES, UPGRADE_SELECT, left)
    else:
        op.drop_constraint("jobs_status_check", "jobs", type_="check")
        _interrupt_left_running(left)
        op.create_check_constraint("jobs_status_check", "jobs", f"status IN ({STATUSES})")
        for column in NEW_COLUMNS:
            kind = sa.Integer if column == "running_slot" else sa.Text
            op.add_column("jobs", sa.Column(column, kind))
        op.create_unique_constraint("jobs_running_slot", "jobs", ["running_slot"])
        op.create_check_constraint("jobs_running_slot_check", "jobs", "running_slot = 1")
    op.create_table(
        "events",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.Text, nullable=False),
    )
    op.create_index("events_seen_at", "events", ["seen_at"])


def _interrupt_left_running(values: dict[str, str]) -> None:
    op.execute(
        sa.text(
            "UPDATE jobs SET status = 'interrupted', finished = COALESCE(finished, :now), "
            "message = :message WHERE status IN ('queued', 'running')"
        ).bindparams(**values)
    )


def _rebuild_jobs_sqlite(
    extra: str, statuses: str, select: str, values: dict[str, str] | None = None
) -> None:
    """Replace ``jobs`` by a table made from :data:`JOBS_SQLITE`, copying every row as
    ``select`` (over the old table) yields it, and the AUTOINCREMENT counter."""
    op.execute(JOBS_SQLITE.format(name="jobs_new", statuses=statuses, extra=extra))
    columns = RELEASE_COLUMNS + ("".join(f", {c}" for c in NEW_COLUMNS) if extra else "")
    copy = sa.text(f"INSERT INTO jobs_new ({columns}) SELECT {select} FROM jobs")
    op.execute(copy.bindparams(**values) if values else copy)
    op.execute(
        "UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence "
        "WHERE name IN ('jobs', 'jobs_new')) WHERE name = 'jobs_new'"
    )
    op.execute("DROP TABLE jobs")
    op.execute("ALTER TABLE jobs_new RENAME TO jobs")
    op.execute("CREATE INDEX jobs_status ON jobs (status)")


def downgrade() -> None:
    """Back to the first release's tables (interrupted jobs become failed ones)."""
    op.drop_index("events_seen_at", table_name="events")
    op.drop_table("events")
    if _sqlite():
        _rebuild_jobs_sqlite("", RELEASE_STATUSES, DOWNGRADE_SELECT)
        return
    op.drop_constraint("jobs_running_slot_check", "jobs", type_="check")
    op.drop_constraint("jobs_running_slot", "jobs", type_="unique")
    for column in reversed(NEW_COLUMNS):
        op.drop_column("jobs", column)
    op.drop_constraint("jobs_status_check", "jobs", type_="check")
    op.execute("UPDATE jobs SET status = 'failed' WHERE status = 'interrupted'")
    op.create_check_constraint("jobs_status_check", "jobs", f"status IN ({RELEASE_STATUSES})")
