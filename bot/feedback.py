"""Durable SQLite storage for the bot: predictions, feedback, retraining jobs, the audit log.

The database lives at ``$HEED_DATA_DIR/heed.sqlite3`` (see :func:`default_path`). It is opened
in WAL mode with ``synchronous=NORMAL`` (a committed answer survives a crash of the bot; only an
OS crash or power cut can lose the last few transactions) and foreign keys on. A damaged file is
never replaced or recreated: :class:`FeedbackStore` runs ``PRAGMA quick_check`` on open and
raises :class:`FeedbackStoreError` naming the file, so the operator can move it away or restore
a backup.

Threads: one connection (``check_same_thread=False``) guarded by one lock, for reads and writes.
SQLite allows a single writer per database anyway, the bot writes a handful of rows per user
action, and a single connection cannot leak per-thread handles or hit ``SQLITE_BUSY`` against
itself; WAL still lets *other* processes (a backup, ``sqlite3`` in a shell) read while the bot
writes. Every public method is safe to call from any thread (Bolt listener threads, the
retraining supervisor thread).

Nothing here imports Slack: the listeners call this module.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

DATA_DIR_ENV = "HEED_DATA_DIR"
DEFAULT_DATA_DIR = "var"
DB_FILENAME = "heed.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "timed_out")
ACTIVE_JOB_STATUSES = ("queued", "running")
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

_JOB_UPDATABLE = (
    "status",
    "started",
    "version",
    "promoted",
    "metrics",
    "message",
    "channel",
    "message_ts",
)


class FeedbackStoreError(RuntimeError):
    """The database file cannot be used (damaged, not SQLite, not Heed's, or too new)."""


class PredictionNotFoundError(LookupError):
    """Feedback names a prediction id that was never recorded."""


def default_path() -> Path:
    """``$HEED_DATA_DIR/heed.sqlite3`` (``./var/heed.sqlite3`` when the variable is unset)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR) / DB_FILENAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Prediction:
    """One classified text, as recorded when the bot replied."""

    id: int
    created: datetime
    channel: str | None
    user: str | None
    text: str
    label: str
    confidence: float | None
    scores: dict[str, float]
    model_version: str | None
    method: str | None
    message_ts: str | None


@dataclass(frozen=True)
class Feedback:
    """One user's answer about a prediction: the label they chose."""

    prediction_id: int
    user: str
    user_name: str | None
    created: datetime
    chosen_label: str
    predicted_label: str
    is_correction: bool
    replaced: bool = False
    """True when this answer replaced an earlier one by the same user."""


@dataclass(frozen=True)
class JobRecord:
    """A retraining job as stored (see :mod:`bot.retrain` for the live job)."""

    id: int
    kind: str
    requested_by: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    status: str
    version: str | None
    promoted: bool | None
    metrics: dict[str, Any] | None
    message: str | None
    channel: str | None
    message_ts: str | None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.status in ACTIVE_JOB_STATUSES


@dataclass(frozen=True)
class AuditEntry:
    """One attempt at an admin action, allowed or refused."""

    id: int
    time: datetime
    user: str | None
    action: str
    allowed: bool
    detail: str


def _prediction(row: sqlite3.Row) -> Prediction:
    return Prediction(
        id=row["id"],
        created=_time(row["created"]),
        channel=row["channel"],
        user=row["user"],
        text=row["text"],
        label=row["label"],
        confidence=row["confidence"],
        scores=json.loads(row["scores"] or "{}"),
        model_version=row["model_version"],
        method=row["method"],
        message_ts=row["message_ts"],
    )


def _feedback(row: sqlite3.Row, replaced: bool = False) -> Feedback:
    return Feedback(
        prediction_id=row["prediction_id"],
        user=row["user"],
        user_name=row["user_name"],
        created=_time(row["created"]),
        chosen_label=row["chosen_label"],
        predicted_label=row["label"],
        is_correction=bool(row["is_correction"]),
        replaced=replaced,
    )


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        requested_by=row["requested_by"],
        created=_time(row["created"]),
        started=_time(row["started"]),
        finished=_time(row["finished"]),
        status=row["status"],
        version=row["version"],
        promoted=None if row["promoted"] is None else bool(row["promoted"]),
        metrics=json.loads(row["metrics"]) if row["metrics"] else None,
        message=row["message"],
        channel=row["channel"],
        message_ts=row["message_ts"],
    )


class FeedbackStore:
    """The bot's SQLite database. Open once at start-up and share it between threads.

    Raises :class:`FeedbackStoreError` when the file exists but is not a healthy Heed
    database; the file is left exactly as it was.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.RLock()
        self._check_header()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackStoreError(f"cannot open the Heed database {self.path}: {exc}") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._check_integrity()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise FeedbackStoreError(self._invalid(str(exc))) from exc
        except BaseException:
            self._conn.close()
            raise

    # -- opening -------------------------------------------------------------------------

    def _invalid(self, why: str) -> str:
        return f"{self.path} is not a valid Heed database: {why}; move it away or restore a backup"

    def _check_header(self) -> None:
        """Refuse a non-SQLite file before SQLite touches it (so it stays byte-for-byte)."""
        if self.path.is_dir():
            raise FeedbackStoreError(self._invalid("it is a directory"))
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise FeedbackStoreError(f"cannot read the Heed database {self.path}: {exc}") from exc
        if head and head != SQLITE_HEADER[: len(head)]:
            raise FeedbackStoreError(self._invalid("the file is not an SQLite database"))
        if 0 < len(head) < len(SQLITE_HEADER):
            raise FeedbackStoreError(self._invalid("the file is truncated"))

    def _check_integrity(self) -> None:
        rows = [r[0] for r in self._conn.execute("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            shown = "; ".join(str(r) for r in rows[:3])
            raise FeedbackStoreError(self._invalid(f"quick_check failed: {shown}"))

    def _migrate(self) -> None:
        conn = self._conn
        has_schema_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if not has_schema_table:
            other = conn.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' LIMIT 3"
            ).fetchall()
            if other:
                names = ", ".join(r[0] for r in other)
                raise FeedbackStoreError(
                    self._invalid(f"it holds other tables ({names}) and no Heed schema")
                )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied TEXT NOT NULL)"
            )
        current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        version = current[0]
        if version > SCHEMA_VERSION:
            raise FeedbackStoreError(
                f"{self.path} was written by a newer Heed (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade Heed or restore a backup"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            script = MIGRATIONS[number - 1]
            try:
                conn.executescript(
                    "BEGIN IMMEDIATE;\n"
                    + script
                    + f"\nINSERT INTO schema_version (version, applied) VALUES "
                    f"({number}, '{_now()}');\nCOMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (checkpointing the WAL); further calls raise."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The schema version of the open database."""
        return self._read("SELECT MAX(version) FROM schema_version")[0][0]

    def journal_mode(self) -> str:
        """SQLite's journal mode for this database (``wal``)."""
        return self._read("PRAGMA journal_mode")[0][0]

    # -- predictions and feedback ---------------------------------------------------------

    def record_prediction(
        self,
        *,
        text: str,
        label: str,
        confidence: float | None = None,
        scores: Mapping[str, float] | None = None,
        model_version: str | None = None,
        method: str | None = None,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> int:
        """Store one prediction the bot made; returns its id (put it in the feedback buttons)."""
        if not label:
            raise ValueError("a prediction needs a label")
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO predictions (created, channel, user, text, label, confidence, "
                "scores, model_version, method, message_ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    _now(),
                    channel,
                    user,
                    text,
                    label,
                    confidence,
                    json.dumps(dict(scores or {})),
                    model_version,
                    method,
                    message_ts,
                ),
            )
            return int(cursor.lastrowid)

    def set_prediction_message(
        self, prediction_id: int, *, channel: str | None, message_ts: str
    ) -> None:
        """Remember where the reply was posted (known only after ``chat.postMessage``)."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE predictions SET channel = COALESCE(?, channel), message_ts = ? "
                "WHERE id = ?",
                (channel, message_ts, prediction_id),
            )
            if cursor.rowcount == 0:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")

    def prediction(self, prediction_id: int) -> Prediction | None:
        """The prediction with this id, or None."""
        rows = self._read("SELECT * FROM predictions WHERE id = ?", (prediction_id,))
        return _prediction(rows[0]) if rows else None

    def record_feedback(
        self, prediction_id: int, user: str, chosen_label: str, *, user_name: str | None = None
    ) -> Feedback:
        """Store ``user``'s answer about a prediction; replaces that user's earlier answer.

        ``chosen_label`` equal to the predicted label is a confirmation, anything else a
        correction. Raises :class:`PredictionNotFoundError` for an unknown id and
        ``ValueError`` for an empty user or label.
        """
        chosen_label = (chosen_label or "").strip()
        if not chosen_label:
            raise ValueError("feedback needs a chosen label")
        if not user:
            raise ValueError("feedback needs a user")
        with self._write() as conn:
            predicted = conn.execute(
                "SELECT label FROM predictions WHERE id = ?", (prediction_id,)
            ).fetchone()
            if predicted is None:
                raise PredictionNotFoundError(f"no prediction with id {prediction_id}")
            replaced = (
                conn.execute(
                    "SELECT 1 FROM feedback WHERE prediction_id = ? AND user = ?",
                    (prediction_id, user),
                ).fetchone()
                is not None
            )
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback").fetchone()[0]
            conn.execute(
                "INSERT INTO feedback (prediction_id, user, user_name, created, chosen_label, "
                "is_correction, seq) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT (prediction_id, user) DO UPDATE SET "
                "user_name = COALESCE(excluded.user_name, feedback.user_name), "
                "created = excluded.created, chosen_label = excluded.chosen_label, "
                "is_correction = excluded.is_correction, seq = excluded.seq",
                (
                    prediction_id,
                    user,
                    user_name,
                    _now(),
                    chosen_label,
                    int(chosen_label != predicted["label"]),
                    seq,
                ),
            )
            row = conn.execute(
                "SELECT f.*, p.label FROM feedback f JOIN predictions p ON p.id = f.prediction_id "
                "WHERE f.prediction_id = ? AND f.user = ?",
                (prediction_id, user),
            ).fetchone()
            return _feedback(row, replaced)

    def feedback_for(self, prediction_id: int) -> list[Feedback]:
        """Every user's current answer about a prediction, oldest first."""
        rows = self._read(
            "SELECT f.*, p.label FROM feedback f JOIN predictions p ON p.id = f.prediction_id "
            "WHERE f.prediction_id = ? ORDER BY f.seq",
            (prediction_id,),
        )
        return [_feedback(r) for r in rows]

    def corrections(self) -> list[tuple[str, str]]:
        """The labelled rows for retraining, as ``(text, label)``, oldest prediction first.

        Every prediction that received at least one answer yields one row: confirmations
        (the predicted label was right) and corrections alike, since both are human labels.
        When several users answered the same prediction, the **latest answer wins** (the one
        recorded last, counting a changed answer as new): the most recent judgement is the
        one people saw and did not dispute. Rows with blank text are skipped, so the export
        always passes ``training.data`` validation.
        """
        rows = self._read(
            "SELECT p.text, f.chosen_label FROM feedback f "
            "JOIN predictions p ON p.id = f.prediction_id "
            "WHERE f.seq = "
            "(SELECT MAX(seq) FROM feedback g WHERE g.prediction_id = f.prediction_id) "
            "ORDER BY p.id"
        )
        return [(r[0], r[1]) for r in rows if r[0].strip() and r[1].strip()]

    def feedback_counts(self) -> dict[str, int]:
        """``answers`` (all users), ``corrections`` and ``confirmations``, ``labelled_rows``."""
        row = self._read(
            "SELECT COUNT(*), COALESCE(SUM(is_correction), 0), "
            "COUNT(DISTINCT prediction_id) FROM feedback"
        )[0]
        return {
            "answers": row[0],
            "corrections": row[1],
            "confirmations": row[0] - row[1],
            "labelled_rows": row[2],
        }

    def export_corrections_csv(self, target: Path | str | IO[str]) -> int:
        """Write :meth:`corrections` as a ``text,label`` CSV; returns the number of rows.

        ``target`` is a path (written atomically, UTF-8) or an open text buffer. The file is
        a valid training export (``training.data.read_export``) whenever it has rows.
        """
        rows = self.corrections()
        if isinstance(target, str | Path):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as handle:
                    _write_csv(handle, rows)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            _write_csv(target, rows)
        return len(rows)

    def export_corrections_bytes(self) -> bytes:
        """The same CSV as bytes (for uploading to Slack)."""
        buffer = io.StringIO(newline="")
        self.export_corrections_csv(buffer)
        return buffer.getvalue().encode("utf-8")

    # -- jobs ----------------------------------------------------------------------------

    def start_job(
        self,
        kind: str,
        requested_by: str | None,
        *,
        status: str = "running",
        channel: str | None = None,
        message_ts: str | None = None,
    ) -> JobRecord:
        """Record a new job (``running`` by default, or ``queued``) and return it."""
        if status not in ACTIVE_JOB_STATUSES:
            raise ValueError(f"a new job is queued or running, not {status!r}")
        now = _now()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (kind, requested_by, created, started, status, channel, "
                "message_ts) VALUES (?,?,?,?,?,?,?)",
                (
                    kind,
                    requested_by,
                    now,
                    now if status == "running" else None,
                    status,
                    channel,
                    message_ts,
                ),
            )
            job_id = int(cursor.lastrowid)
        return self.job(job_id)

    def update_job(self, job_id: int, **fields: Any) -> JobRecord:
        """Change some of a job's fields: status, started, version, promoted, metrics,
        message, channel, message_ts (e.g. where its status message was posted)."""
        unknown = set(fields) - set(_JOB_UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update job fields {sorted(unknown)}")
        if "status" in fields and fields["status"] not in JOB_STATUSES:
            raise ValueError(f"unknown job status {fields['status']!r}")
        if "metrics" in fields and fields["metrics"] is not None:
            fields["metrics"] = json.dumps(fields["metrics"])
        if "promoted" in fields and fields["promoted"] is not None:
            fields["promoted"] = int(bool(fields["promoted"]))
        if "started" in fields and isinstance(fields["started"], datetime):
            fields["started"] = fields["started"].isoformat()
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            with self._write() as conn:
                cursor = conn.execute(
                    f"UPDATE jobs SET {assignments} WHERE id = ?", (*fields.values(), job_id)
                )
                if cursor.rowcount == 0:
                    raise LookupError(f"no job with id {job_id}")
        return self.job(job_id)

    def finish_job(
        self,
        job_id: int,
        status: str,
        *,
        version: str | None = None,
        promoted: bool | None = None,
        metrics: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> JobRecord:
        """Record a job's outcome (succeeded, failed, cancelled or timed_out)."""
        if status not in FINAL_JOB_STATUSES:
            raise ValueError(f"a job finishes as one of {FINAL_JOB_STATUSES}, not {status!r}")
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = ?, finished = ?, version = COALESCE(?, version), "
                "promoted = COALESCE(?, promoted), metrics = COALESCE(?, metrics), "
                "message = COALESCE(?, message) WHERE id = ?",
                (
                    status,
                    _now(),
                    version,
                    None if promoted is None else int(promoted),
                    json.dumps(dict(metrics)) if metrics is not None else None,
                    message,
                    job_id,
                ),
            )
            if cursor.rowcount == 0:
                raise LookupError(f"no job with id {job_id}")
        return self.job(job_id)

    def job(self, job_id: int) -> JobRecord:
        """The job with this id (``LookupError`` when there is none)."""
        rows = self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise LookupError(f"no job with id {job_id}")
        return _job(rows[0])

    def running_job(self) -> JobRecord | None:
        """The newest queued or running job, or None."""
        rows = self._read(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY id DESC LIMIT 1"
        )
        return _job(rows[0]) if rows else None

    def recent_jobs(self, n: int = 5) -> list[JobRecord]:
        """The last ``n`` jobs, newest first."""
        rows = self._read("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (max(0, n),))
        return [_job(r) for r in rows]

    def fail_stale_jobs(
        self, message: str = "interrupted: the bot stopped while this job ran"
    ) -> int:
        """Mark queued/running jobs left by a previous run of the bot as failed; returns how many.

        Call once at start-up, before any job starts in this process.
        """
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'failed', finished = ?, message = ? "
                "WHERE status IN ('queued', 'running')",
                (_now(), message),
            )
            return cursor.rowcount

    # -- audit log -----------------------------------------------------------------------

    def audit(self, user: str | None, action: str, allowed: bool, detail: str = "") -> int:
        """Append one attempt at an admin action (allowed or refused); returns its id."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO audit_log (time, user, action, allowed, detail) VALUES (?,?,?,?,?)",
                (_now(), user, action, int(bool(allowed)), detail or ""),
            )
            return int(cursor.lastrowid)

    def audit_log(self, n: int = 50) -> list[AuditEntry]:
        """The last ``n`` audit entries, newest first."""
        rows = self._read("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (max(0, n),))
        return [
            AuditEntry(
                id=r["id"],
                time=_time(r["time"]),
                user=r["user"],
                action=r["action"],
                allowed=bool(r["allowed"]),
                detail=r["detail"],
            )
            for r in rows
        ]


def _write_csv(handle: IO[str], rows: list[tuple[str, str]]) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(("text", "label"))
    writer.writerows(rows)
