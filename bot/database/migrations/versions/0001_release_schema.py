"""The schema of Heed's first release: predictions, feedback, jobs, audit log.

On SQLite this is the first release's own DDL, statement for statement, so a database made by
that release (its own ``schema_version`` table at 1) *is* this revision and is stamped with it
instead of being created again. Other databases get the same tables, columns, keys and checks.

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

RELEASE_SQLITE = (
    """CREATE TABLE predictions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        created       TEXT    NOT NULL,
        channel       TEXT,
        user          TEXT,
        text          TEXT    NOT NULL,
        label         TEXT    NOT NULL,
        confidence    REAL,
        scores        TEXT    NOT NULL DEFAULT '{}',
        model_version TEXT,
        method        TEXT,
        message_ts    TEXT
    )""",
    "CREATE INDEX predictions_message ON predictions (channel, message_ts)",
    """CREATE TABLE feedback (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        prediction_id INTEGER NOT NULL REFERENCES predictions (id) ON DELETE CASCADE,
        user          TEXT    NOT NULL,
        user_name     TEXT,
        created       TEXT    NOT NULL,
        chosen_label  TEXT    NOT NULL,
        is_correction INTEGER NOT NULL CHECK (is_correction IN (0, 1)),
        seq           INTEGER NOT NULL,
        UNIQUE (prediction_id, user)
    )""",
    "CREATE INDEX feedback_latest ON feedback (prediction_id, seq)",
    """CREATE TABLE jobs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        kind         TEXT    NOT NULL,
        requested_by TEXT,
        created      TEXT    NOT NULL,
        started      TEXT,
        finished     TEXT,
        status       TEXT    NOT NULL CHECK (status IN
                         ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
        version      TEXT,
        promoted     INTEGER CHECK (promoted IN (0, 1)),
        metrics      TEXT,
        message      TEXT,
        channel      TEXT,
        message_ts   TEXT
    )""",
    "CREATE INDEX jobs_status ON jobs (status)",
    """CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        time     TEXT    NOT NULL,
        user     TEXT,
        action   TEXT    NOT NULL,
        allowed  INTEGER NOT NULL CHECK (allowed IN (0, 1)),
        detail   TEXT    NOT NULL DEFAULT ''
    )""",
)
RELEASE_STATUSES = "'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'"


def upgrade() -> None:
    """Create the four tables of the first release."""
    if op.get_context().dialect.name == "sqlite":
        for statement in RELEASE_SQLITE:
            op.execute(statement)
        return
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
        sa.UniqueConstraint("prediction_id", "user", name="feedback_prediction_id_user_key"),
        sa.CheckConstraint("is_correction IN (0, 1)", name="feedback_is_correction_check"),
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
        sa.CheckConstraint(f"status IN ({RELEASE_STATUSES})", name="jobs_status_check"),
        sa.CheckConstraint("promoted IN (0, 1)", name="jobs_promoted_check"),
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
        sa.CheckConstraint("allowed IN (0, 1)", name="audit_log_allowed_check"),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in ("audit_log", "jobs", "feedback", "predictions"):
        op.drop_table(table)
