"""E2E fixtures: one fake Slack per module (the latency summary hooks are in tests/conftest.py,
which the xdist controller loads too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakeslack import FakeSlack


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    """One fake Slack per e2e module, shared by the module's bot process and its tests
    (overrides the function-scoped fixture of tests/conftest.py)."""
    with FakeSlack() as server:
        yield server
