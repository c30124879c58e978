"""What the table repositories need of the database: a read and a write transaction.

:class:`~bot.database.connection.Database` provides them; the repositories are typed against
this protocol, so they never import the connection module that builds them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection


class Transactions(Protocol):
    """A source of read and write transactions (see :class:`Database`)."""

    def read(self) -> AbstractContextManager[Connection]:
        """A connection for reads, rolled back at the end."""
        ...

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction, committed on success, rolled back when the block raises."""
        ...
