"""Cancel requests: a cancel from another replica no longer ends the job's row at once.

``jobs.cancel_requested`` holds who asked (``cancelled by U…``) while the job still runs: its
task's slot (``running_task``) stays taken until the owning replica has stopped its child and
recorded the job ``cancelled``, or its lease expires, so no second retrain of the task starts
while the first child still trains. NULL for every earlier row.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``jobs.cancel_requested``."""
    op.add_column("jobs", sa.Column("cancel_requested", sa.Text))


def downgrade() -> None:
    """Drop it; a job with a pending request is ended ``cancelled`` as the old code did."""
    op.execute(
        "UPDATE jobs SET status = 'cancelled', message = cancel_requested, running_task = NULL "
        "WHERE cancel_requested IS NOT NULL AND status = 'running'"
    )
    op.drop_column("jobs", "cancel_requested")
