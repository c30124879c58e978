"""The bot's database: SQLite (the embedded default) or PostgreSQL, through SQLAlchemy.

``HEED_DATABASE_URL`` picks it: ``sqlite:///$HEED_DATA_DIR/heed.sqlite3`` by default, or
``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` for several replicas. Opening checks where
the schema stands (:mod:`bot.database.migrate`): a database with no tables is created at the
newest revision; one at an older revision (a previous Heed, the first release included) stops
start-up with the command to run, ``python -m bot migrate`` — replicas must not race schema
changes — and one written by a newer Heed or holding other tables is refused.

SQLite keeps the first release's safety: a file that is not SQLite is refused before SQLite
touches it, ``PRAGMA quick_check`` runs on open, a damaged file is never replaced; WAL,
``synchronous=NORMAL``, foreign keys, and every write transaction is ``BEGIN IMMEDIATE`` so two
processes never deadlock upgrading a read lock. The tables are reached through repositories:
:attr:`Database.predictions`, :attr:`Database.jobs`, :attr:`Database.events` and
:attr:`Database.audit`, each safe to call from any thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.database import migrate
from bot.database.audit import AuditLog
from bot.database.events import Events
from bot.database.jobs import Jobs
from bot.database.predictions import Predictions

DATA_DIR_ENV = "HEED_DATA_DIR"
DEFAULT_DATA_DIR = "var"
DB_FILENAME = "heed.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATE_COMMAND = "python -m bot migrate"


class DatabaseError(RuntimeError):
    """The database cannot be used (damaged, not Heed's, too old or too new, unreachable)."""


def default_path() -> Path:
    """``$HEED_DATA_DIR/heed.sqlite3`` (``./var/heed.sqlite3`` when the variable is unset)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR) / DB_FILENAME


def database_url(target: str | Path | None) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, a path as an SQLite file URL."""
    if target is None:
        target = default_path()
    if isinstance(target, str) and "://" in target:
        return target
    return f"sqlite:///{Path(target)}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The bot's database. Open once at start-up and share it between threads.

    ``target`` is a SQLAlchemy URL or an SQLite file path (default :func:`default_path`).
    Raises :class:`DatabaseError`, with one line saying what to do, when it cannot be used;
    nothing is changed then.
    """

    def __init__(self, target: str | Path | None = None) -> None:
        try:
            self.url = make_url(database_url(target))
        except ArgumentError as exc:
            raise DatabaseError(f"not a database URL: {exc}") from None
        self.where = self.url.render_as_string(hide_password=True)
        self.path = Path(self.url.database) if self.is_sqlite and self.url.database else None
        if self.is_sqlite:
            self._prepare_sqlite_file()
        self.engine = create_engine(self.url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        try:
            if self.is_sqlite:
                self._check_integrity()
            self._check_schema()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise DatabaseError(
                self._invalid(" ".join(str(exc.orig or exc).split())[:300])
            ) from exc
        except BaseException:
            self.engine.dispose()
            raise
        self.predictions = Predictions(self)
        self.jobs = Jobs(self)
        self.events = Events(self)
        self.audit = AuditLog(self)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    # -- opening -------------------------------------------------------------------------

    def _invalid(self, why: str) -> str:
        return f"{self.where} is not a valid Heed database: {why}; move it away or restore a backup"

    def _prepare_sqlite_file(self) -> None:
        """Refuse a non-SQLite file before SQLite touches it (so it stays byte-for-byte);
        create a new file's folder private (0700)."""
        path = self.path
        if path is None:
            return
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
        with self.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            shown = "; ".join(str(r) for r in rows[:3])
            raise DatabaseError(self._invalid(f"quick_check failed: {shown}"))

    def _check_schema(self) -> None:
        where, revision = migrate.state(self.engine)
        if where == migrate.EMPTY:
            migrate.upgrade(self.engine)
        elif where == migrate.FOREIGN:
            raise DatabaseError(
                self._invalid(f"it holds other tables ({revision}) and no Heed schema")
            )
        elif where == migrate.NEWER:
            raise DatabaseError(
                f"{self.where} was written by a newer Heed (revision {revision}, this one knows "
                f"{migrate.head()}); upgrade Heed or restore a backup"
            )
        elif where in (migrate.RELEASE, migrate.OLD):
            old = "the first release's schema" if where == migrate.RELEASE else revision
            raise DatabaseError(
                f"{self.where} has an older schema ({old}; this Heed needs {migrate.head()}): "
                f"stop every replica, back it up, then run `{MIGRATE_COMMAND}`"
            )

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (its transaction is rolled back at the end)."""
        with self.engine.connect() as conn:
            yield conn

    def revision(self) -> str | None:
        """The Alembic revision of the open database."""
        with self.read() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def journal_mode(self) -> str:
        """SQLite's journal mode (``wal``); empty for other backends."""
        if not self.is_sqlite:
            return ""
        with self.read() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    def close(self) -> None:
        """Close every pooled connection (checkpointing SQLite's WAL)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
