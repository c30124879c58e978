"""Suggestions, appeals and double labelling.

Only a labeler's or admin's answer decides a label now; any other answer (the asker's, an
auto-tagged message's author's) is a *suggestion*. Texts whose answers are all suggestions were
trained on and marked ``answered`` in the labelling queue: they become ``suggested`` (a queue
row is added where none existed, except for texts asked in a direct message, which never enter
the queue), so labelers see them first and decide.
``label_queue.labels_wanted`` is 2 for an item asked of two labelers (``HEED_DOUBLE_LABEL``).
``appeals`` holds each appeal of an auto-tagged message's label: the author, the reason, and
the decision (``open``, ``upheld`` or ``changed``, by whom, to which label).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TRUSTED = "('admin', 'labeler')"
# predictions with answers, none of them trusted: the suggestions (a text a trusted answer
# decided through another prediction keeps its answered row; a text asked in a direct
# message, or where the channel is unknown, never enters the queue)
_SUGGESTED_ONLY = (
    "SELECT p.id, p.task, p.text FROM predictions p WHERE p.channel IS NOT NULL "
    "AND p.channel NOT LIKE 'D%' AND "
    "EXISTS (SELECT 1 FROM feedback f WHERE f.prediction_id = p.id) AND NOT EXISTS "
    f"(SELECT 1 FROM feedback f WHERE f.prediction_id = p.id AND f.role IN {_TRUSTED}) "
    "ORDER BY p.id"
)
_QUEUE = (
    "INSERT INTO label_queue (task, text_hash, prediction_id, uncertainty, created, status) "
    "VALUES (:task, :hash, :pid, NULL, :created, 'suggested') ON CONFLICT (task, text_hash) DO "
    "UPDATE SET status = 'suggested', prediction_id = excluded.prediction_id "
    "WHERE label_queue.status <> 'answered' OR NOT EXISTS (SELECT 1 FROM feedback f "
    f"WHERE f.prediction_id = label_queue.prediction_id AND f.role IN {_TRUSTED})"
)


def _text_hash(text: str) -> str:
    """bot.database.queue.text_hash as of this revision (migrations never import the app)."""
    return hashlib.sha256(" ".join(text.casefold().split()).encode("utf-8")).hexdigest()


def upgrade() -> None:
    """Add ``labels_wanted`` and ``appeals``; turn suggestion-only texts into suggestions."""
    op.add_column(
        "label_queue",
        sa.Column("labels_wanted", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "prediction_id",
            sa.Integer,
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_label", sa.Text),
        sa.Column("decided", sa.Text),
    )
    op.create_index("appeals_author", "appeals", ["author", "created"])
    op.create_index("appeals_prediction", "appeals", ["prediction_id", "status"])
    conn = op.get_bind()
    created = datetime.now(UTC).isoformat(timespec="microseconds")
    for pid, task, text in conn.execute(sa.text(_SUGGESTED_ONLY)).all():
        row = {"task": task, "hash": _text_hash(text), "pid": pid, "created": created}
        conn.execute(sa.text(_QUEUE), row)


def downgrade() -> None:
    """Drop the appeals and ``labels_wanted``; suggested items count as answered again."""
    op.execute("UPDATE label_queue SET status = 'answered' WHERE status = 'suggested'")
    op.drop_index("appeals_prediction", table_name="appeals")
    op.drop_index("appeals_author", table_name="appeals")
    op.drop_table("appeals")
    op.drop_column("label_queue", "labels_wanted")
