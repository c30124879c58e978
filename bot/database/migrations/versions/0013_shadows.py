"""Shadow versions: a version that predicts beside the serving one and never acts.

``shadows`` names, per task, the version shadowing the serving one (at most one; every replica
reads it, so all of them predict with it). ``shadow_predictions`` holds what a shadow said about
a prediction the serving version made (its label and calibrated confidence, no text: the text
stays with the prediction, and goes with it on ``forget`` or retention, ``ON DELETE CASCADE``).

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``shadows`` and ``shadow_predictions``."""
    op.create_table(
        "shadows",
        sa.Column("task", sa.Text, primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("started", sa.Text, nullable=False),
        sa.Column("started_by", sa.Text),
    )
    op.create_table(
        "shadow_predictions",
        sa.Column(
            "prediction_id",
            sa.Integer,
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float),
        sa.PrimaryKeyConstraint("prediction_id", "version", name="shadow_predictions_pk"),
    )
    op.create_index("shadow_predictions_version", "shadow_predictions", ["version"])


def downgrade() -> None:
    """Drop the shadow tables."""
    op.drop_index("shadow_predictions_version", table_name="shadow_predictions")
    op.drop_table("shadow_predictions")
    op.drop_table("shadows")
