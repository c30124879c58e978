"""What the table repositories need of the database (typed as a protocol, so they never import
the connection module that builds them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Executable

T = TypeVar("T")


class Transactions(Protocol):
    """A source of read and write transactions (see :meth:`Database.read`, ``write``)."""

    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self) -> AbstractContextManager[Connection]: ...


class Repository:
    """One table's queries, run in the transactions ``db`` gives."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    def _first(self, query: Executable, record: Callable[[Mapping[str, Any]], T]) -> T | None:
        """The first row ``query`` reads as a record, or None."""
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        return record(row) if row is not None else None

    def _all(self, query: Executable, record: Callable[[Mapping[str, Any]], T]) -> list[T]:
        """Every row ``query`` reads, as records."""
        with self._db.read() as conn:
            return [record(row) for row in conn.execute(query).mappings()]
