"""E2E hooks: print and save the /classify latencies the tests recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.support import LATENCIES, latency_summary
from tests.support.fakeslack import FakeSlack


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not LATENCIES:
        return
    summary = latency_summary()
    terminalreporter.section("/classify latency (fake Slack, real bot process)")
    for scenario, kinds in summary.items():
        for kind, s in kinds.items():
            terminalreporter.write_line(
                f"{scenario:<14} {kind:<7} n={s['n']:<3} p50 {s['p50_ms']:>7.1f} ms   "
                f"p95 {s['p95_ms']:>7.1f} ms   max {s['max_ms']:>7.1f} ms"
            )


@pytest.fixture(scope="session", autouse=True)
def _latency_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    if LATENCIES:
        path = tmp_path_factory.getbasetemp() / "e2e-latency.json"
        path.write_text(json.dumps(latency_summary(), indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    """One fake Slack per e2e module, shared by the module's bot process and its tests
    (overrides the function-scoped fixture of tests/conftest.py)."""
    with FakeSlack() as server:
        yield server
