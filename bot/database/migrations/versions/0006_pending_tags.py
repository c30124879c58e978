"""The durable auto-tag queue: messages acked to Slack and waiting for their tag.

``pending_tags`` holds one row per message (``channel``, ``message_ts``: unique), written in
the same transaction that claims the message's event keys, before the ack. Workers on every
replica take rows by setting ``owner`` and ``lease_expires`` (a row whose lease expired is
taken again: its replica died), count ``attempts``, set ``noted`` once the thread note is
posted (so a retaken row never notes twice) and delete the row once the message is tagged.
The text follows retention and ``forget`` like a prediction's.

Revision ID: 0006
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``pending_tags``."""
    op.create_table(
        "pending_tags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("message_ts", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.Text),
        sa.Column("user", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("lease_expires", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("noted", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("channel", "message_ts", name="pending_tags_message"),
    )
    op.create_index("pending_tags_created", "pending_tags", ["created"])
    op.create_index("pending_tags_user", "pending_tags", ["user"])


def downgrade() -> None:
    """Drop the queue (messages still in it are not tagged)."""
    op.drop_index("pending_tags_user", table_name="pending_tags")
    op.drop_index("pending_tags_created", table_name="pending_tags")
    op.drop_table("pending_tags")
