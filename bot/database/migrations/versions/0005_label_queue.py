"""The labelling queue: per task, the recent predictions Heed was least sure about.

``label_queue`` holds one row per task and normalised text (``text_hash``, the SHA-256 of the
text case-folded with its whitespace collapsed; unique per task, so replicas inserting the
same text at once keep one row). A row points at the prediction that brought the text in
(``ON DELETE CASCADE``: when retention or ``forget`` deletes that prediction, its row and hash
go with it), with its ``uncertainty`` (NULL for a text that entered labelled) and ``status``
(``open``: offered; ``answered``; ``evicted``: pushed out by more uncertain or newer items).
A row that is not ``open`` keeps its hash, so the text is never offered again.
``queue_digests`` records each digest DM claimed: one row per task, period and recipient, so
of several replicas only one sends each.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``label_queue`` and ``queue_digests``."""
    op.create_table(
        "label_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column(
            "prediction_id",
            sa.Integer,
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("uncertainty", sa.Float),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.UniqueConstraint("task", "text_hash", name="label_queue_text"),
    )
    op.create_index("label_queue_open", "label_queue", ["task", "status", "uncertainty"])
    op.create_index("label_queue_prediction", "label_queue", ["prediction_id"])
    op.create_table(
        "queue_digests",
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("claimed", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("outcome", sa.Text),
        sa.PrimaryKeyConstraint("task", "period", "user", name="queue_digests_pk"),
    )
    op.create_index("queue_digests_claimed", "queue_digests", ["claimed"])


def downgrade() -> None:
    """Drop the queue and the digest claims."""
    op.drop_index("queue_digests_claimed", table_name="queue_digests")
    op.drop_table("queue_digests")
    op.drop_index("label_queue_prediction", table_name="label_queue")
    op.drop_index("label_queue_open", table_name="label_queue")
    op.drop_table("label_queue")
