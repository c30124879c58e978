"""The database schema: numbered migrations (append only) and the job statuses."""

from __future__ import annotations

JOB_STATUSES = ("running", "succeeded", "failed", "cancelled", "timed_out")
ACTIVE_JOB_STATUSES = ("running",)
FINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled", "timed_out")

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE predictions (
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
    );
    CREATE INDEX predictions_message ON predictions (channel, message_ts);

    CREATE TABLE feedback (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        prediction_id INTEGER NOT NULL REFERENCES predictions (id) ON DELETE CASCADE,
        user          TEXT    NOT NULL,
        user_name     TEXT,
        created       TEXT    NOT NULL,
        chosen_label  TEXT    NOT NULL,
        is_correction INTEGER NOT NULL CHECK (is_correction IN (0, 1)),
        seq           INTEGER NOT NULL,
        UNIQUE (prediction_id, user)
    );
    CREATE INDEX feedback_latest ON feedback (prediction_id, seq);

    CREATE TABLE jobs (
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
    );
    CREATE INDEX jobs_status ON jobs (status);

    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        time     TEXT    NOT NULL,
        user     TEXT,
        action   TEXT    NOT NULL,
        allowed  INTEGER NOT NULL CHECK (allowed IN (0, 1)),
        detail   TEXT    NOT NULL DEFAULT ''
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
