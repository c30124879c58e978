"""The same database tests on SQLite and on a real PostgreSQL, and a prediction to answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.database import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database: an SQLite file, or a database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'heed.sqlite3'}"
    return request.getfixturevalue("postgres_test_database")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


def predict(db: Database, text: str = "the cable arrived broken", label: str = "negative") -> int:
    """Record a prediction as /classify would; returns its id."""
    return db.predictions.record(
        text=text,
        label=label,
        confidence=0.8,
        scores={"negative": 0.8, "neutral": 0.15, "positive": 0.05},
        model_version="20261126-191500-a1b2c3",
        method="attention",
        channel="C1",
        user="U1",
    )
