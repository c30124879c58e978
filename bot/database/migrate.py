"""Where a database stands against Heed's Alembic revisions, and bringing it to the newest.

``python -m bot migrate`` calls :func:`upgrade`. A database made by Heed's first release (its
own ``schema_version`` table, no ``alembic_version``) is stamped with revision ``0001`` — its
tables are that revision — and then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RELEASE_TABLES = {"predictions", "feedback", "jobs", "audit_log", "schema_version"}

EMPTY, RELEASE, OLD, CURRENT, NEWER, FOREIGN = (
    "empty",
    "release",
    "old",
    "current",
    "newer",
    "foreign",
)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this Heed knows."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def state(engine: Engine) -> tuple[str, str | None]:
    """``(state, revision)``: ``empty`` (no tables), ``release`` (the first release's own
    versioning), ``old``, ``current`` or ``newer`` than :func:`head`, or ``foreign`` (tables
    that are not Heed's)."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if not tables:
            return EMPTY, None
        if "alembic_version" not in tables:
            if "schema_version" in tables and tables <= RELEASE_TABLES:
                return RELEASE, None
            return FOREIGN, ", ".join(sorted(tables)[:3])
        revision = MigrationContext.configure(conn).get_current_revision()
    scripts = ScriptDirectory.from_config(_config())
    if revision == head():
        return CURRENT, revision
    known = {script.revision for script in scripts.walk_revisions()}
    return (OLD if revision in known or revision is None else NEWER), revision


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to :func:`head`; returns ``(from_revision, to_revision)``.

    Raises ``ValueError`` for a database this Heed must not touch (foreign or newer)."""
    where, revision = state(engine)
    if where == FOREIGN:
        raise ValueError(f"it holds other tables ({revision}) and no Heed schema")
    if where == NEWER:
        raise ValueError(f"it was written by a newer Heed (revision {revision})")
    with engine.begin() as conn:
        config = _config(conn)
        if where == RELEASE:
            command.stamp(config, "0001")
            revision = "0001 (first release)"
        command.upgrade(config, "head")
    return revision, head()
