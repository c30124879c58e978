"""Where a database stands against Heed's Alembic revisions, and bringing it to the newest
under the schema lock, so replicas starting together never race a schema change."""

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
RELEASE_REVISION = "0001"
SCHEMA_LOCK = 0x48454544  # "HEED": the advisory lock key for schema checks and changes

EMPTY, RELEASE, OLD = "empty", "release", "old"
CURRENT, NEWER, FOREIGN = "current", "newer", "foreign"


class SchemaRefused(ValueError):
    """The database is ``state``; ``detail`` is its revision (or, when foreign, tables)."""

    def __init__(self, state: str, detail: str | None) -> None:
        super().__init__(f"{state}: {detail}")
        self.state = state
        self.detail = detail


@dataclass(frozen=True)
class Migration:
    """What opening did: the schema's ``state`` and revision ``before``, the revision after."""

    state: str
    before: str | None
    after: str

    def describe(self, where: str) -> str:
        """One line for people: what was done to the database at ``where``."""
        if self.state == CURRENT:
            return f"{where}: already at revision {self.after}; nothing to do"
        if self.state == EMPTY:
            return f"{where}: created at revision {self.after}"
        old = f"revision {self.before}"
        if self.state == RELEASE:
            old = f"the first release's schema (revision {RELEASE_REVISION})"
        return f"{where}: upgraded from {old} to revision {self.after}"


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


def state(conn: Connection) -> tuple[str, str | None]:
    """``(state, detail)``: where the schema stands against :func:`head`, with its revision
    (for :data:`FOREIGN`, some of the tables that are not Heed's)."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision == head():
            return CURRENT, revision
        if revision is None or revision in {s.revision for s in _scripts().walk_revisions()}:
            return OLD, revision
        return NEWER, revision
    if conn.dialect.name == "sqlite" and "schema_version" in tables:
        version = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        if version is None and tables == {"schema_version"}:
            return EMPTY, None  # the first release stopped before creating its tables
        if version is not None and version > 1:
            return NEWER, f"schema_version {version}"
        if tables == {"schema_version", "predictions", "feedback", "jobs", "audit_log"}:
            return RELEASE, RELEASE_REVISION
    if not tables:
        return EMPTY, None
    return FOREIGN, ", ".join(sorted(tables - {"schema_version"} or tables)[:3])


def ensure(engine: Engine, *, upgrade: bool) -> Migration:
    """Under the schema lock, create an empty database or, with ``upgrade``, upgrade an older
    one. Raises :class:`SchemaRefused`, changing nothing, for anything else."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already excludes
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
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
