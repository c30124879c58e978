"""Tasks: several classifiers in one Heed; each prediction and job belongs to one.

``predictions.task`` and ``jobs.task`` name the task (``heed.toml``'s ``[tasks.NAME]``); every
earlier row belongs to ``default``, the task a Heed without ``heed.toml`` serves. One retrain
may run per task now instead of one in the whole cluster: a running job holds
``running_task`` (its task; unique, NULL once it ends) in place of ``running_slot``, which is
left NULL from this revision on. A job running at the upgrade keeps running as ``default``'s.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the task columns and the per-task running claim."""
    op.add_column(
        "predictions", sa.Column("task", sa.Text, nullable=False, server_default="default")
    )
    op.add_column("jobs", sa.Column("task", sa.Text, nullable=False, server_default="default"))
    op.add_column("jobs", sa.Column("running_task", sa.Text))
    op.execute("UPDATE jobs SET running_task = task, running_slot = NULL WHERE running_slot = 1")
    op.create_index("jobs_running_task", "jobs", ["running_task"], unique=True)
    op.create_index("predictions_task", "predictions", ["task"])


def downgrade() -> None:
    """Back to one running job in the cluster: the oldest running one keeps the slot, any
    other running job is marked interrupted; the task columns go."""
    op.execute(
        "UPDATE jobs SET status = 'interrupted', message = 'interrupted: schema downgraded', "
        "running_task = NULL WHERE running_task IS NOT NULL AND id <> "
        "(SELECT MIN(id) FROM jobs WHERE running_task IS NOT NULL)"
    )
    op.execute("UPDATE jobs SET running_slot = 1 WHERE running_task IS NOT NULL")
    op.drop_index("predictions_task", table_name="predictions")
    op.drop_index("jobs_running_task", table_name="jobs")
    op.drop_column("jobs", "running_task")
    op.drop_column("jobs", "task")
    op.drop_column("predictions", "task")
