"""Trusted labels: who gave each answer, and where each prediction came from.

``feedback.role`` says with what standing an answer was given: ``admin`` or ``labeler``
(trusted), ``asker`` (the person who asked for the prediction) or ``unverified``. Answers
recorded before this revision were accepted from anyone, so they become ``asker`` when the
answering user asked for that prediction and ``unverified`` otherwise: they stay visible but
are never trained on. ``predictions.source`` is ``classify`` (``/classify`` or the message
shortcut, asked for by ``user``) or ``autotag`` (an auto-tagged message written by ``user``,
which nobody asked about); every earlier prediction came from ``/classify``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``feedback.role`` and ``predictions.source``; classify earlier answers."""
    op.add_column(
        "feedback", sa.Column("role", sa.Text, nullable=False, server_default="unverified")
    )
    op.execute(
        "UPDATE feedback SET role = 'asker' WHERE \"user\" = "
        '(SELECT p."user" FROM predictions p WHERE p.id = feedback.prediction_id)'
    )
    op.add_column(
        "predictions", sa.Column("source", sa.Text, nullable=False, server_default="classify")
    )
    op.create_index("predictions_created", "predictions", ["created"])


def downgrade() -> None:
    """Drop the columns again (every answer then counts as the first releases counted it)."""
    op.drop_index("predictions_created", table_name="predictions")
    op.drop_column("predictions", "source")
    op.drop_column("feedback", "role")
