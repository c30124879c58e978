"""Request signatures: each signed Slack request Heed accepted in HTTP mode, so a replayed one
is refused by every replica while its timestamp is still inside Slack's five-minute window.

``request_signatures`` holds the ``v0=`` signature (primary key: the first replica to insert it
wins) and the request's own timestamp (Unix seconds), by which old rows are swept.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``request_signatures``."""
    op.create_table(
        "request_signatures",
        sa.Column("signature", sa.String(80), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_index("request_signatures_timestamp", "request_signatures", ["timestamp"])


def downgrade() -> None:
    """Drop the remembered signatures."""
    op.drop_index("request_signatures_timestamp", table_name="request_signatures")
    op.drop_table("request_signatures")
