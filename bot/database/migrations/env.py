"""Alembic's entry point: run the revisions on the connection Heed hands over.

Heed runs Alembic programmatically (:func:`bot.database.migrate.ensure`), passing a connection
already in a transaction that holds the schema lock in ``config.attributes["connection"]``;
the revisions run inside that transaction. There is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from bot.database.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
