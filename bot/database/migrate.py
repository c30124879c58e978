"""Where a database stands against Heed's Alembic revisions, and bringing it to the newest.

Every check runs in one transaction under the *schema lock* — ``BEGIN IMMEDIATE`` on SQLite,
``pg_advisory_xact_lock`` on PostgreSQL — so replicas starting together never race a schema
change: the first creates an empty database, the others then find it current. A database made
by Heed's first release (its own ``schema_version`` table at 1, no ``alembic_version``) is
stamped with revision ``0001`` — its tables are that revision — and then upgraded like any
other, in place. ``python -m bot migrate`` upgrades through :class:`bot.database.Database`
with ``migrate=True``; a plain open only creates an empty database.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RELEASE_TABLES = {"predictions", "feedback", "jobs", "audit_log"}
RELEASE_REVISION = "0001"
SCHEMA_LOCK = 0x48454544  # "HEED": the advisory lock key for schema checks and changes

EMPTY, RELEASE, OLD, CURRENT, NEWER, FOREIGN = (
    "empty",
    "release",
    "old",
    "current",
    "newer",
    "foreign",
)


class SchemaRefused(ValueError):
    """The database is ``state`` (:data:`FOREIGN`, :data:`NEWER`, or older than allowed);
    ``detail`` is its revision or, for a foreign one, some of its tables."""

    def __init__(self, state: str, detail: str | None) -> None:
        super().__init__(f"{state}: {detail}")
        self.state = state
        self.detail = detail


@dataclass(frozen=True)
class Migration:
    """What opening did to the schema: ``state`` before (:data:`EMPTY`, :data:`RELEASE`,
    :data:`OLD` or :data:`CURRENT`), the revision it had and the one it has now."""

    state: str
    before: str | None
    after: str

    def describe(self, where: str) -> str:
        """One line for people: what was done to the database at ``where``."""
        if self.state == CURRENT:
            return f"{where}: already at revision {self.after}; nothing to do"
        if self.state == EMPTY:
            return f"{where}: created at revision {self.after}"
        if self.state == RELEASE:
            return (
                f"{where}: upgraded from the first release's schema (revision "
                f"{RELEASE_REVISION}) to revision {self.after}"
            )
        return f"{where}: upgraded from revision {self.before} to revision {self.after}"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this Heed knows."""
    return str(_scripts().get_current_head())


def known_revisions() -> set[str]:
    """Every revision this Heed knows."""
    return {script.revision for script in _scripts().walk_revisions()}


def lock(conn: Connection) -> None:
    """Take the schema lock for the rest of ``conn``'s transaction (PostgreSQL; an SQLite
    write transaction already excludes every other writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def state(conn: Connection) -> tuple[str, str | None]:
    """``(state, detail)``: :data:`EMPTY` (no tables), :data:`RELEASE` (the first release's
    own versioning), :data:`OLD`, :data:`CURRENT` or :data:`NEWER` than :func:`head` (with the
    revision), or :data:`FOREIGN` (with some of the tables that are not Heed's)."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision == head():
            return CURRENT, revision
        if revision is None or revision in known_revisions():
            return OLD, revision
        return NEWER, revision
    if conn.dialect.name == "sqlite" and "schema_version" in tables:
        version = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        if version is None and tables == {"schema_version"}:
            return EMPTY, None  # the first release stopped before creating its tables
        if version is not None and version > 1:
            return NEWER, f"schema_version {version}"
        if tables == {"schema_version", *RELEASE_TABLES}:
            return RELEASE, RELEASE_REVISION
    if not tables:
        return EMPTY, None
    return FOREIGN, ", ".join(sorted(tables - {"schema_version"} or tables)[:3])


def ensure(engine: Engine, *, upgrade: bool) -> Migration:
    """Under the schema lock, bring the database to :func:`head` where allowed.

    An empty database is always created; one at an older revision (the first release's
    included) is upgraded only with ``upgrade``. Raises :class:`SchemaRefused` otherwise,
    and for a database from a newer Heed or one holding other tables; nothing is changed then.
    """
    with engine.begin() as conn:
        lock(conn)
        where, revision = state(conn)
        if where in (FOREIGN, NEWER) or (where in (RELEASE, OLD) and not upgrade):
            raise SchemaRefused(where, revision)
        if where == CURRENT:
            return Migration(where, revision, head())
        config = _config(conn)
        if where == RELEASE:
            command.stamp(config, RELEASE_REVISION)
        command.upgrade(config, "head")
        return Migration(where, revision, head())
