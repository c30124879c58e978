"""The bot's SQLite database: open it safely, migrate it, run transactions.

The database lives at ``$HEED_DATA_DIR/heed.sqlite3`` (see :func:`default_path`). It is opened
in WAL mode with ``synchronous=NORMAL`` (a committed answer survives a crash of the bot; only an
OS crash or power cut can lose the last few transactions) and foreign keys on. A damaged file is
never replaced or recreated: :class:`Database` runs ``PRAGMA quick_check`` on open and raises
:class:`DatabaseError` naming the file, so the operator can move it away or restore a backup.

Threads: one connection (``check_same_thread=False``) guarded by one lock, for reads and writes.
SQLite allows a single writer per database anyway, the bot writes a handful of rows per user
action, and a single connection cannot leak per-thread handles or hit ``SQLITE_BUSY`` against
itself; WAL still lets *other* processes (a backup, ``sqlite3`` in a shell) read while the bot
writes. The tables are reached through three repositories, each safe to call from any thread:
:attr:`Database.predictions` (predictions and the answers people gave),
:attr:`Database.jobs` (retraining jobs) and :attr:`Database.audit` (the admin audit log).

Nothing here imports Slack.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.database.audit import AuditLog
from bot.database.jobs import Jobs
from bot.database.predictions import Predictions
from bot.database.records import now
from bot.database.schema import MIGRATIONS, SCHEMA_VERSION

DATA_DIR_ENV = "HEED_DATA_DIR"
DEFAULT_DATA_DIR = "var"
DB_FILENAME = "heed.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(RuntimeError):
    """The database file cannot be used (damaged, not SQLite, not Heed's, or too new)."""


def default_path() -> Path:
    """``$HEED_DATA_DIR/heed.sqlite3`` (``./var/heed.sqlite3`` when the variable is unset)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR) / DB_FILENAME


class Database:
    """The bot's SQLite database. Open once at start-up and share it between threads.

    Raises :class:`DatabaseError` when the file exists but is not a healthy Heed
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
            raise DatabaseError(f"cannot open the Heed database {self.path}: {exc}") from exc
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
            raise DatabaseError(self._invalid(str(exc))) from exc
        except BaseException:
            self._conn.close()
            raise
        self.predictions = Predictions(self)
        self.jobs = Jobs(self)
        self.audit = AuditLog(self)

    # -- opening -------------------------------------------------------------------------

    def _invalid(self, why: str) -> str:
        return f"{self.path} is not a valid Heed database: {why}; move it away or restore a backup"

    def _check_header(self) -> None:
        """Refuse a non-SQLite file before SQLite touches it (so it stays byte-for-byte)."""
        if self.path.is_dir():
            raise DatabaseError(self._invalid("it is a directory"))
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise DatabaseError(f"cannot read the Heed database {self.path}: {exc}") from exc
        if head and head != SQLITE_HEADER[: len(head)]:
            raise DatabaseError(self._invalid("the file is not an SQLite database"))
        if 0 < len(head) < len(SQLITE_HEADER):
            raise DatabaseError(self._invalid("the file is truncated"))

    def _check_integrity(self) -> None:
        rows = [r[0] for r in self._conn.execute("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            shown = "; ".join(str(r) for r in rows[:3])
            raise DatabaseError(self._invalid(f"quick_check failed: {shown}"))

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
                raise DatabaseError(
                    self._invalid(f"it holds other tables ({names}) and no Heed schema")
                )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied TEXT NOT NULL)"
            )
        current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        version = current[0]
        if version > SCHEMA_VERSION:
            raise DatabaseError(
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
                    f"({number}, '{now()}');\nCOMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
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

    def read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (checkpointing the WAL); further calls raise."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The schema version of the open database."""
        return self.read("SELECT MAX(version) FROM schema_version")[0][0]

    def journal_mode(self) -> str:
        """SQLite's journal mode for this database (``wal``)."""
        return self.read("PRAGMA journal_mode")[0][0]
