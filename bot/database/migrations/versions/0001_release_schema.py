"""The schema of Heed's first release: predictions, feedback, jobs, audit log.

A database made by that release (its own ``schema_version`` table at 1) is stamped with this
revision instead of being created again.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables of the first release."""
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("user", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float),
        sa.Column("scores", sa.Text, nullable=False, server_default="{}"),
        sa.Column("model_version", sa.Text),
        sa.Column("method", sa.Text),
        sa.Column("message_ts", sa.Text),
    )
    op.create_index("predictions_message", "predictions", ["channel", "message_ts"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "prediction_id",
            sa.Integer,
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("chosen_label", sa.Text, nullable=False),
        sa.Column("is_correction", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.UniqueConstraint("prediction_id", "user"),
    )
    op.create_index("feedback_latest", "feedback", ["prediction_id", "seq"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("started", sa.Text),
        sa.Column("finished", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Text),
        sa.Column("promoted", sa.Integer),
        sa.Column("metrics", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("message_ts", sa.Text),
    )
    op.create_index("jobs_status", "jobs", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Text, nullable=False),
        sa.Column("user", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("allowed", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in ("audit_log", "jobs", "feedback", "predictions"):
        op.drop_table(table)
