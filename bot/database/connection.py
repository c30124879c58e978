"""The bot's database (SQLite or PostgreSQL), opened only when it is Heed's at a known revision.
SQLite writes ``BEGIN IMMEDIATE`` so processes never deadlock upgrading a read lock."""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

import bot.database.migrate as migrate
from bot.database.appeals import Appeals
from bot.database.audit import AuditLog
from bot.database.events import Events
from bot.database.forgetting import Forgetting
from bot.database.jobs import Jobs
from bot.database.pending import PendingTags
from bot.database.predictions import Predictions
from bot.database.queue import LabelQueue
from bot.database.shadows import Shadows
from bot.database.signatures import Signatures
from bot.database.traffic import Traffic

DB_FILENAME = "heed.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATE_COMMAND = "python -m bot migrate"
BUSY_TIMEOUT_MS = 10_000
POOL_SIZE = 24
"""PostgreSQL connections a replica keeps open: one per thread that may write at once (16
Socket Mode listeners, 4 job-pool threads, the auto-tag worker, the micro-batcher, the
ticker...). SQLAlchemy's default of 5 made a burst's listeners open and close a connection (a
server process each) per ack (benchmarks/replicas_load.py)."""
POOL_OVERFLOW = 8
SCRUBBED_TABLES = ("predictions", "feedback", "label_queue", "heed_posts", "pending_tags")
_READ = "heed_read"
_SSL_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be used (damaged, not Heed's, too old or too new, unreachable)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the begin event below issues BEGIN itself
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted texts are zeroed in their pages where that costs no extra I/O; what FAST leaves
        # on free pages, :meth:`Database.scrub` removes with a VACUUM. ON (zero everything as it
        # is freed) pushed a 1,000-message burst's acks past 3 s (benchmarks/README.md).
        cursor.execute("PRAGMA secure_delete=FAST")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL; retried, as switching answers "database is locked" at once
    (without waiting) while another connection holds a lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_local_host(host: str | None) -> bool:
    """No host (a Unix socket), a socket path, ``localhost`` or a loopback address."""
    host = (host or "").lower().rstrip(".")
    if not host or host.startswith("/") or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tls_warning(where: str, host: str | None, ssl: bool | None) -> str | None:
    """The start-up warning for a database on another host reached without TLS (``ssl``:
    what the server says of this connection, None when it cannot say), else None."""
    if ssl or is_local_host(host):
        return None
    return (
        f"the database {where} is on another host and this connection does not use TLS: "
        "add sslmode=verify-full (and the server's CA) to HEED_DATABASE_URL"
    )


def _one_line(exc: BaseException, secret: str | None) -> str:
    message = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    return message.replace(secret, "***") if secret else message


def failure_line(exc: BaseException) -> str:
    """A database failure for the log: its type and the driver's one-line reason, never the
    statement's parameters (people's texts)."""
    return f"{type(exc).__name__}: {_one_line(exc, None)}"


class Database:
    """The database at a SQLAlchemy URL or SQLite path, shared by threads; ``migrate`` upgrades
    an older schema. Raises :class:`DatabaseError` (the password hidden) when unusable."""

    def __init__(self, target: str | Path, *, migrate: bool = False) -> None:
        url = target if isinstance(target, str) and "://" in target else f"sqlite:///{target}"
        try:
            self.url = make_url(url)
        except ArgumentError:
            raise DatabaseError(
                "not a database URL: expected sqlite:///PATH or postgresql+psycopg://…"
            ) from None
        self.where = self.url.render_as_string(hide_password=True)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.path = Path(self.url.database) if self.is_sqlite and self.url.database else None
        self._closed = False
        self.engine = self._create_engine()
        try:
            if self.is_sqlite:
                self._check_integrity()
            self.migration = self._check_schema(migrate)
            if not self.is_sqlite:
                self._check_transport()
        except BaseException as exc:
            self.engine.dispose()
            if not isinstance(exc, SQLAlchemyError):
                raise
            why = _one_line(exc, self.url.password)
            if self.is_sqlite and isinstance(exc, DBAPIError):
                raise DatabaseError(self._invalid(why)) from None
            raise DatabaseError(f"cannot use the Heed database {self.where}: {why}") from None
        self.predictions = Predictions(self)
        self.jobs = Jobs(self)
        self.events = Events(self)
        self.audit = AuditLog(self)
        self.queue = LabelQueue(self)
        self.traffic = Traffic(self)
        self.forgetting = Forgetting(self)
        self.shadows = Shadows(self)
        self.signatures = Signatures(self)
        self.appeals = Appeals(self)
        self.pending = PendingTags(self)

    def __repr__(self) -> str:
        return f"Database({self.where!r})"

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            connect = {"application_name": "heed", "connect_timeout": 10}
            given = {k: v for k, v in connect.items() if k not in self.url.query}
            return create_engine(
                self.url,
                pool_size=POOL_SIZE,
                max_overflow=POOL_OVERFLOW,
                pool_pre_ping=True,
                connect_args=given,
                hide_parameters=True,
            )
        self._prepare_sqlite_file()
        engine = create_engine(
            self.url, connect_args={"check_same_thread": False}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine

    def _invalid(self, why: str) -> str:
        return f"{self.where} is not a valid Heed database: {why}; move it away or restore a backup"

    def _prepare_sqlite_file(self) -> None:
        """Refuse a non-SQLite file before SQLite touches it (so it stays byte-for-byte);
        create a new file 0600 (and its folder 0700 when there is none)."""
        path = self.path
        if path is None or str(path) == ":memory:":
            raise DatabaseError("the SQLite database must be a file: sqlite:///PATH")
        self.where = str(path)
        if path.is_dir():
            raise DatabaseError(self._invalid("it is a directory"))
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.touch(mode=0o600)
            except OSError as exc:
                raise DatabaseError(f"cannot create the Heed database {path}: {exc}") from exc
            return
        except OSError as exc:
            raise DatabaseError(f"cannot read the Heed database {path}: {exc}") from exc
        if head and head != SQLITE_HEADER[: len(head)]:
            raise DatabaseError(self._invalid("the file is not an SQLite database"))
        if 0 < len(head) < len(SQLITE_HEADER):
            raise DatabaseError(self._invalid("the file is truncated"))

    def _check_integrity(self) -> None:
        with self.read() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            shown = "; ".join(str(r) for r in rows[:3])
            raise DatabaseError(self._invalid(f"quick_check failed: {shown}"))

    def _check_schema(self, upgrade: bool) -> migrate.Migration:
        try:
            done = migrate.ensure(self.engine, upgrade=upgrade)
        except migrate.SchemaRefused as refused:
            raise DatabaseError(self._refusal(refused)) from None
        if done.state != migrate.CURRENT:
            log.info("database %s", done.describe(self.where))
        return done

    def _check_transport(self) -> None:
        """Warn when a database on another host is reached without TLS (passwords and texts
        would cross the network in the clear)."""
        if is_local_host(self.url.host):
            return
        try:
            with self.read() as conn:
                ssl = conn.execute(text(_SSL_IN_USE)).scalar()
        except SQLAlchemyError:
            ssl = None
        warning = tls_warning(self.where, self.url.host, ssl)
        if warning:
            log.warning("%s", warning)

    def _refusal(self, refused: migrate.SchemaRefused) -> str:
        if refused.state == migrate.FOREIGN:
            return self._invalid(f"it holds other tables ({refused.detail}) and no Heed schema")
        if refused.state == migrate.NEWER:
            return (
                f"{self.where} was written by a newer Heed (revision {refused.detail}, this one "
                f"knows {migrate.head()}); upgrade Heed or restore a backup"
            )
        old = "the first release's schema" if refused.state == migrate.RELEASE else refused.detail
        return (
            f"{self.where} has an older schema ({old}; this Heed needs {migrate.head()}): "
            f"stop every replica, back it up, then run `{MIGRATE_COMMAND}`"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError(f"the Heed database {self.where} is closed")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, committed on success, rolled back when the block raises."""
        self._check_open()
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (a plain ``BEGIN`` on SQLite), rolled back at the end."""
        self._check_open()
        with self.engine.connect() as conn:
            conn.execution_options(**{_READ: True})
            yield conn

    def scrub(self) -> None:
        """After texts were deleted, leave no copy of them in the database's files: SQLite
        rebuilds the file without its free pages (``VACUUM``), then checkpoints and truncates
        its write-ahead log; PostgreSQL vacuums the tables that held them (its WAL recycles on
        its own)."""
        self._check_open()
        if not self.is_sqlite:
            tables = ", ".join(SCRUBBED_TABLES)
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM {tables}")
            return
        raw = self.engine.raw_connection()  # autocommit: a checkpoint cannot run in a transaction
        try:
            cursor, deadline = raw.cursor(), time.monotonic() + BUSY_TIMEOUT_MS / 1000
            cursor.execute("VACUUM")  # rebuilt without free pages: no trace of a deleted row
            while True:  # busy while another connection reads an older snapshot
                busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            cursor.close()
        finally:
            raw.close()
        if busy:
            log.warning("the write-ahead log of %s is still in use; not truncated", self.where)

    def revision(self) -> str | None:
        """The Alembic revision of the open database."""
        with self.read() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        """Close every pooled connection (checkpointing SQLite's WAL); later calls raise."""
        self._closed = True
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
