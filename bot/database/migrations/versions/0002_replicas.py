"""Replicas: job leases and a cluster-wide running slot, event keys, no more schema_version.

Jobs gain ``owner`` (the replica running it), ``lease_expires`` (renewed while it runs),
``progress`` (its newest line, for the other replicas) and ``running_slot`` (1 while running,
unique: at most one running job in the whole cluster); status ``queued`` is gone and
``interrupted`` is new. Jobs a stopped bot left ``running`` are marked interrupted. ``events``
holds the Slack event keys already handled.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEFT_RUNNING = "interrupted: the bot stopped while this job ran"


def upgrade() -> None:
    """Add the lease columns, the running slot and the events table."""
    op.execute("DROP TABLE IF EXISTS schema_version")
    # recreate="always" on SQLite also drops the first release's CHECK on status
    recreate = "always" if op.get_context().dialect.name == "sqlite" else "auto"
    with warnings.catch_warnings():  # dropping that unnamed CHECK is the point
        warnings.filterwarnings("ignore", "Unnamed CHECK constraint", UserWarning)
        _add_job_columns(recreate)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    op.execute(
        sa.text(
            "UPDATE jobs SET status = 'interrupted', finished = :now, message = :message "
            "WHERE status IN ('queued', 'running')"
        ).bindparams(now=now, message=LEFT_RUNNING)
    )
    op.create_table(
        "events",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("seen_at", sa.Text, nullable=False),
    )
    op.create_index("events_seen_at", "events", ["seen_at"])


def _add_job_columns(recreate: str) -> None:
    with op.batch_alter_table("jobs", recreate=recreate) as batch:
        batch.add_column(sa.Column("owner", sa.Text))
        batch.add_column(sa.Column("lease_expires", sa.Text))
        batch.add_column(sa.Column("progress", sa.Text))
        batch.add_column(sa.Column("running_slot", sa.Integer))
        batch.create_unique_constraint("jobs_running_slot", ["running_slot"])


def downgrade() -> None:
    """Remove what :func:`upgrade` added."""
    op.drop_table("events")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("jobs_running_slot", type_="unique")
        for column in ("running_slot", "progress", "lease_expires", "owner"):
            batch.drop_column(column)
