"""The tables as the newest Alembic revision leaves them (change them through a migration),
and the job statuses. Times are fixed-width ISO 8601 UTC text."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

FINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled", "timed_out", "interrupted")
EVENT_KEY_CHARS = 200
SOURCES = ("classify", "autotag", "suspects")
"""Asked for (/classify, the shortcut), an auto-tag, or an export row reviewed from
``/heed-admin suspects`` (its answer relabels that row: an override, not a correction)."""
REVIEWED = "suspects"
FEEDBACK_SOURCES = ("classify", "autotag")

metadata = MetaData()


def _prediction_id() -> Column[int]:
    """The prediction a row is about: deleting the prediction deletes the row."""
    cascade = ForeignKey("predictions.id", ondelete="CASCADE")
    return Column("prediction_id", Integer, cascade, nullable=False)


predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created", Text, nullable=False),
    Column("channel", Text),
    Column("user", Text),
    Column("text", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("confidence", Float),
    Column("scores", Text, nullable=False, server_default="{}"),
    Column("model_version", Text),
    Column("method", Text),
    Column("message_ts", Text),
    Column("source", Text, nullable=False, server_default="classify"),
    Column("task", Text, nullable=False, server_default="default"),
    Column("author", Text),  # who wrote the text (``user``: who asked, for the shortcut)
    Index("predictions_message", "channel", "message_ts"),
    Index("predictions_created", "created"),
    Index("predictions_task", "task"),
    Index("predictions_author", "author"),
    Index("predictions_user", "user"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _prediction_id(),
    Column("user", Text, nullable=False),
    Column("user_name", Text),
    Column("created", Text, nullable=False),
    Column("chosen_label", Text, nullable=False),
    Column("is_correction", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", Text, nullable=False, server_default="unverified"),
    UniqueConstraint("prediction_id", "user"),
    Index("feedback_latest", "prediction_id", "seq"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("requested_by", Text),
    Column("created", Text, nullable=False),
    Column("started", Text),
    Column("finished", Text),
    Column("status", Text, nullable=False),
    Column("version", Text),
    Column("promoted", Integer),
    Column("metrics", Text),
    Column("message", Text),
    Column("channel", Text),
    Column("message_ts", Text),
    Column("owner", Text),
    Column("lease_expires", Text),
    Column("progress", Text),
    Column("running_slot", Integer),  # superseded by running_task (0004): always NULL since
    Column("task", Text, nullable=False, server_default="default"),
    Column("running_task", Text),  # the task while the job runs (unique), else NULL
    Column("cancel_requested", Text),  # who asked another replica to stop it (0009)
    UniqueConstraint("running_slot", name="jobs_running_slot"),
    Index("jobs_status", "status"),
    Index("jobs_running_task", "running_task", unique=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Text, nullable=False),
    Column("user", Text),
    Column("action", Text, nullable=False),
    Column("allowed", Integer, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
)

events = Table(
    "events",
    metadata,
    Column("key", String(EVENT_KEY_CHARS), primary_key=True),
    Column("seen_at", Text, nullable=False),
    Index("events_seen_at", "seen_at"),
)

label_queue = Table(
    "label_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task", Text, nullable=False),
    Column("text_hash", String(64), nullable=False),
    _prediction_id(),
    Column("uncertainty", Float),
    Column("created", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("labels_wanted", Integer, nullable=False, server_default="1"),  # 2: double-labelled
    UniqueConstraint("task", "text_hash", name="label_queue_text"),
    Index("label_queue_open", "task", "status", "uncertainty"),
    Index("label_queue_prediction", "prediction_id"),
)

queue_digests = Table(
    "queue_digests",
    metadata,
    Column("task", Text, nullable=False),
    Column("period", String(64), nullable=False),
    Column("user", String(64), nullable=False),
    Column("claimed", Text, nullable=False),
    Column("owner", Text),
    Column("outcome", Text),
    PrimaryKeyConstraint("task", "period", "user", name="queue_digests_pk"),
    Index("queue_digests_claimed", "claimed"),
)

heed_posts = Table(  # Heed's own messages quoting a prediction's text (digest DMs)
    "heed_posts",
    metadata,
    _prediction_id(),
    Column("channel", String(64), nullable=False),
    Column("ts", String(64), nullable=False),
    PrimaryKeyConstraint("prediction_id", "channel", "ts", name="heed_posts_pk"),
)

forgotten_texts = Table(  # tombstones: every replica's sweep drops these texts from its exports
    "forgotten_texts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text_sha256", String(64), nullable=False),
    Column("created", Text, nullable=False),
    Index("forgotten_texts_created", "created"),
)

shadows = Table(
    "shadows",
    metadata,
    Column("task", Text, primary_key=True),
    Column("version", Text, nullable=False),
    Column("started", Text, nullable=False),
    Column("started_by", Text),
)

shadow_predictions = Table(
    "shadow_predictions",
    metadata,
    _prediction_id(),
    Column("version", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("confidence", Float),
    PrimaryKeyConstraint("prediction_id", "version", name="shadow_predictions_pk"),
    Index("shadow_predictions_version", "version"),
)

request_signatures = Table(
    "request_signatures",
    metadata,
    Column("signature", String(80), primary_key=True),
    Column("timestamp", BigInteger, nullable=False),  # the request's, in Unix seconds
    Index("request_signatures_timestamp", "timestamp"),
)

APPEAL_STATUSES = ("open", "upheld", "changed")

appeals = Table(
    "appeals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _prediction_id(),
    Column("author", Text, nullable=False),
    Column("created", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False, server_default="open"),
    Column("decided_by", Text),
    Column("decided_label", Text),
    Column("decided", Text),
    Index("appeals_author", "author", "created"),
    Index("appeals_prediction", "prediction_id", "status"),
)

pending_tags = Table(
    "pending_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("message_ts", String(64), nullable=False),
    Column("thread_ts", Text),
    Column("user", Text),
    Column("text", Text, nullable=False),
    Column("created", Text, nullable=False),
    Column("owner", Text),  # the replica working on it, while ``lease_expires`` is ahead
    Column("lease_expires", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("noted", Integer, nullable=False, server_default="0"),
    UniqueConstraint("channel", "message_ts", name="pending_tags_message"),
    Index("pending_tags_created", "created"),
    Index("pending_tags_user", "user"),
)
