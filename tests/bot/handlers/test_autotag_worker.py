"""The auto-tag worker: takes what the database holds while it has room (its own replica's
messages, and a dead replica's once the lease lapses), tags each once and deletes it; when
the in-memory bounds are full the messages wait; too old ones are given up, logged and
counted; the queue's depth and age reach /metrics and /readyz."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from bot.handlers.autotag_worker import DEGRADED_AGE_S, AutotagWorker, age_s
from bot.services import Services
from tests.bot.stubs import StubClassifier, services_for


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = services_for(tmp_path, StubClassifier(label="negative"), autotag_channels=("C1",))
    yield made
    made.close()


def queue(services: Services, ts: str, channel: str = "C1") -> None:
    assert services.db.pending.enqueue(
        [f"event:Ev{ts}"], channel=channel, message_ts=ts, text=f"text {ts}", user="U1"
    )


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def reacted(client: MagicMock) -> list[str]:
    return [c.kwargs["timestamp"] for c in client.reactions_add.call_args_list]


@pytest.fixture
def worker(services: Services) -> Iterator[Callable[..., tuple[AutotagWorker, MagicMock]]]:
    started: list[AutotagWorker] = []

    def start(**kw: Any) -> tuple[AutotagWorker, MagicMock]:
        client = MagicMock()
        started.append(AutotagWorker(services, client, owner="replica-a", **kw).start())
        return started[-1], client

    yield start
    for w in started:
        w.stop()


@pytest.mark.parametrize("count", [12, 60])  # 60 queued at once: the worker pauses, then tags
def test_queued_messages_are_tagged_in_batches_and_deleted(
    services: Services, worker, count: int
) -> None:
    for i in range(count):
        queue(services, f"{i}.0")
    _, client = worker()
    wait_for(lambda: services.db.pending.depth().pending == 0)
    assert sorted(reacted(client)) == sorted(f"{i}.0" for i in range(count))
    stub = services.models.holder("default").get()
    assert len(stub.predict_calls) < count  # classified together
    tagged = services.metrics.autotags.labels("tagged")._value.get()  # type: ignore[attr-defined]
    assert tagged == count


def test_a_dead_replicas_message_is_tagged_once_its_lease_lapses(
    services: Services, worker
) -> None:
    queue(services, "1.0")
    [taken] = services.db.pending.take("dead-replica", 1, timedelta(seconds=-1))
    _, client = worker()
    wait_for(lambda: reacted(client) == ["1.0"])
    wait_for(lambda: services.db.pending.depth().pending == 0)
    assert taken.attempts == 1


def test_while_the_job_pool_is_full_messages_wait_then_are_tagged(
    services: Services, worker
) -> None:
    gate = threading.Event()
    blockers = [services.jobs.submit(gate.wait) for _ in range(services.jobs.capacity)]
    w, client = worker()
    queue(services, "1.0")
    time.sleep(1.5)  # the worker took it, met the full pool, handed it back
    assert reacted(client) == [] and services.db.pending.depth().pending == 1
    gate.set()
    for blocker in blockers:
        blocker.result(timeout=5)
    wait_for(lambda: reacted(client) == ["1.0"])
    wait_for(lambda: services.db.pending.depth().pending == 0 and w.in_flight == 0)


def test_the_worker_holds_no_more_than_its_capacity(services: Services, worker) -> None:
    for i in range(5):
        queue(services, f"{i}.0")
    gate = threading.Event()
    w, client = worker(capacity=2)
    client.reactions_add.side_effect = lambda **_: gate.wait(10)
    wait_for(lambda: client.reactions_add.call_count == 2)
    time.sleep(0.3)
    with services.db.read() as conn:
        owned = conn.exec_driver_sql("SELECT COUNT(*) FROM pending_tags WHERE owner IS NOT NULL")
        assert owned.scalar() == 2 and w.in_flight == 2
    gate.set()
    wait_for(lambda: services.db.pending.depth().pending == 0)
    assert sorted(reacted(client)) == sorted(f"{i}.0" for i in range(5))


def test_a_failing_tag_stays_queued_for_another_try(services: Services, worker) -> None:
    queue(services, "1.0")
    w, client = worker()
    client.reactions_add.side_effect = RuntimeError("Slack is away")
    wait_for(lambda: services.metrics.autotags.labels("failed")._value.get() == 1)  # type: ignore[attr-defined]
    wait_for(lambda: w.in_flight == 0)
    assert services.db.pending.depth().pending == 1  # taken again when its lease lapses


def make_old(services: Services) -> None:
    with services.db.write() as conn:
        conn.exec_driver_sql("UPDATE pending_tags SET created = '2000-01-01T00:00:00+00:00'")


def test_too_old_messages_are_given_up_logged_and_counted(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    queue(services, "1.0")
    make_old(services)
    w = AutotagWorker(services, MagicMock(), owner="replica-a")
    with caplog.at_level(logging.WARNING, logger="bot.handlers.autotag_worker"):
        assert w.give_up_stale() == 1
    assert any("auto-tag given up for C1/1.0" in r.getMessage() for r in caplog.records)
    assert services.metrics.autotags.labels("given_up")._value.get() == 1  # type: ignore[attr-defined]
    assert services.db.pending.depth().pending == 0


def test_depth_and_age_in_metrics_and_readiness(services: Services) -> None:
    assert AutotagWorker(services, MagicMock(), owner="replica-a").check() == (True, "")
    queue(services, "1.0")
    make_old(services)
    w = AutotagWorker(services, MagicMock(), owner="replica-a")
    services.metrics.autotag_pending.set_function(lambda: w.depth().pending)
    services.metrics.autotag_oldest.set_function(lambda: age_s(w.depth()))
    ready, detail = w.check()
    assert ready and detail.startswith("degraded: 1 messages wait to be tagged, oldest")
    rendered = services.metrics.render().decode()
    assert "heed_autotag_pending 1.0" in rendered
    oldest = next(line for line in rendered.splitlines() if line.startswith("heed_autotag_old"))
    assert float(oldest.split()[1]) > DEGRADED_AGE_S


def test_a_scrape_survives_a_database_that_does_not_answer(services: Services, worker) -> None:
    w, _ = worker()
    w.stop()
    services.db.close()
    w.depth.cache_clear()  # type: ignore[attr-defined]
    rendered = services.metrics.render().decode()
    assert "heed_autotag_pending NaN" in rendered


def test_during_a_burst_the_worker_leaves_the_cpu_to_the_listeners_for_a_while(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.handlers.autotag_worker.MAX_YIELD_S", 0.3)
    w = AutotagWorker(services, MagicMock(), owner="replica-a")
    assert not w.listeners_first()  # nothing arrives: the worker takes
    for i in range(40):  # 40 in half a second: a burst
        queue(services, f"{i}.0")
    assert w.listeners_first()
    time.sleep(0.35)
    for i in range(40, 80):
        queue(services, f"{i}.0")
    assert not w.listeners_first()  # paused long enough: one batch's turn
    assert w.listeners_first()  # then it pauses again while the burst lasts


def test_a_steady_stream_does_not_pause_the_worker(services: Services) -> None:
    w = AutotagWorker(services, MagicMock(), owner="replica-a")
    for i in range(5):
        queue(services, f"{i}.0")
        assert not w.listeners_first()
        time.sleep(0.033)  # 30 messages/s
