"""What the table repositories need of the database (typed as a protocol, so they never import
the connection module that builds them)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection


class Transactions(Protocol):
    """A source of read and write transactions (see :class:`Database`)."""

    def read(self) -> AbstractContextManager[Connection]:
        """A connection for reads, rolled back at the end."""

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction, committed on success, rolled back when the block raises."""


class Repository:
    """One table's queries, run in the transactions ``db`` gives."""

    def __init__(self, db: Transactions) -> None:
        self._db = db
