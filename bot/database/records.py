"""The rows the database hands out, as frozen dataclasses, how rows become them, and the
repository base that reads them (the database typed as a protocol: no import cycle)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Executable

T = TypeVar("T")


def now(after: timedelta = timedelta(0)) -> str:
    """UTC now (plus ``after``) as stored: fixed-width ISO 8601, so times compare as text."""
    return (datetime.now(UTC) + after).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Prediction:
    """One classified text, as recorded when the bot replied."""

    id: int
    created: datetime
    channel: str | None
    user: str | None
    text: str
    label: str
    confidence: float | None
    scores: dict[str, float]
    model_version: str | None
    method: str | None
    message_ts: str | None
    source: str = "classify"  # or "autotag": a message ``user`` wrote, nobody asked
    task: str = "default"  # the task whose model made it
    author: str | None = None  # who wrote the text (the shortcut's ``user`` only clicked)

    @property
    def asker(self) -> str | None:
        """Who asked for this prediction (None for an auto-tag: nobody asked)."""
        return self.user if self.source == "classify" else None


@dataclass(frozen=True)
class Answer:
    """One user's answer about a prediction: the label they chose."""

    prediction_id: int
    user: str
    user_name: str | None
    created: datetime
    chosen_label: str
    predicted_label: str
    is_correction: bool
    role: str = "unverified"  # the user's standing when answering (bot.database.labels)
    replaced: bool = False  # it replaced an earlier answer by the same user


@dataclass(frozen=True)
class JobRecord:
    """A retraining job as stored (see :mod:`bot.retrain.jobs` for the live job)."""

    id: int
    kind: str
    requested_by: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    status: str
    version: str | None
    promoted: bool | None
    metrics: dict[str, Any] | None
    message: str | None
    channel: str | None
    message_ts: str | None
    owner: str | None = None  # the replica running (or that ran) it
    lease_expires: datetime | None = None
    progress: str | None = None  # the newest progress line its replica stored
    task: str = "default"  # the task it retrains
    cancel_requested: str | None = None  # "cancelled by U…" while its replica stops it


@dataclass(frozen=True)
class AuditEntry:
    """One attempt at an admin action, allowed or refused."""

    id: int
    time: datetime
    user: str | None
    action: str
    allowed: bool
    detail: str


_TIMES = ("created", "started", "finished", "lease_expires", "time")  # ISO 8601 text
_FLAGS = ("is_correction", "allowed", "promoted")  # 0/1 integers (promoted may be NULL)
_JSON = ("scores", "metrics")  # JSON text (metrics may be NULL)


def _record(cls: type[T], row: Mapping[str, Any], **values: Any) -> T:
    """``cls`` from the row's columns named like its fields, decoded; ``values`` overriding."""
    names = {f.name for f in fields(cls)}
    found = {k: v for k, v in row.items() if k in names}
    found |= {k: datetime.fromisoformat(found[k]) for k in _TIMES if found.get(k)}
    found |= {k: bool(found[k]) for k in _FLAGS if found.get(k) is not None}
    found |= {k: json.loads(found[k]) for k in _JSON if found.get(k)}
    return cls(**found | values)


prediction_from = partial(_record, Prediction)
answer_from = partial(_record, Answer)  # a ``feedback`` row with its ``predicted_label``
job_from = partial(_record, JobRecord)
audit_from = partial(_record, AuditEntry)


class Transactions(Protocol):
    """What a repository needs of the database: read and write transactions (typed as a
    protocol, so the table modules never import the connection module that builds them)."""

    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self) -> AbstractContextManager[Connection]: ...


class Repository:
    """One table's queries, run in the transactions ``db`` gives."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    def _first(self, query: Executable, record: Callable[[Mapping[str, Any]], T]) -> T | None:
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        return record(row) if row is not None else None

    def _all(self, query: Executable, record: Callable[[Mapping[str, Any]], T]) -> list[T]:
        with self._db.read() as conn:
            return [record(row) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class RunningJob:
    """A running job as any replica sees it: from this replica's live :class:`Job`, or from
    the database row that another replica keeps renewing (``owner`` is that replica)."""

    id: int
    requested_by: str | None
    started: datetime
    progress: str
    owner: str | None = None

    @classmethod
    def from_record(cls, record: JobRecord) -> RunningJob:
        """A job running on another replica, from the row it renews."""
        started = record.started or record.created
        return cls(
            record.id, record.requested_by, started, record.progress or "running", record.owner
        )

    def progress_text(self) -> str:
        """The newest progress line (and the replica, when it runs on another one)."""
        return self.progress + (f" (on replica {self.owner})" if self.owner else "")
