"""Forgetting reaches the author, Heed's own posts and every replica's exports.

``predictions.author`` is who wrote the text: for ``/classify`` the asker, for the message
shortcut the message's author (``user`` is who clicked), for an auto-tag the message's
author. Earlier rows get ``author = user`` (the best known; ``forget`` matches either).
``heed_posts`` remembers Heed's own Slack messages that quote a prediction's text (digest DMs),
so ``forget`` can delete them with ``chat.delete``. ``forgotten_texts`` holds a tombstone per
forgotten text: the SHA-256 of the exact text, which every replica's sweep removes from its
kept exports; tombstones older than the retention period go (so do the exports).

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``predictions.author`` (filled from ``user``), ``heed_posts`` and ``forgotten_texts``."""
    op.add_column("predictions", sa.Column("author", sa.Text))
    op.execute('UPDATE predictions SET author = "user"')
    op.create_index("predictions_author", "predictions", ["author"])
    op.create_index("predictions_user", "predictions", ["user"])
    op.create_table(
        "heed_posts",
        sa.Column(
            "prediction_id",
            sa.Integer,
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", "channel", "ts", name="heed_posts_pk"),
    )
    op.create_table(
        "forgotten_texts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("created", sa.Text, nullable=False),
    )
    op.create_index("forgotten_texts_created", "forgotten_texts", ["created"])


def downgrade() -> None:
    """Drop the tombstones, the posts and the author column."""
    op.drop_index("forgotten_texts_created", table_name="forgotten_texts")
    op.drop_table("forgotten_texts")
    op.drop_table("heed_posts")
    op.drop_index("predictions_user", table_name="predictions")
    op.drop_index("predictions_author", table_name="predictions")
    op.drop_column("predictions", "author")
