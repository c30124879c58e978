"""The auto-tag worker, one per replica: takes queued messages from the database while this
replica has room, classifies them through the micro-batcher, tags each on the job pool and
deletes it. Full in-memory bounds only make it stop taking: the rows wait, nothing is lost."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from cachetools import TTLCache, cached

from bot.database.pending import Depth, PendingTag
from bot.handlers.autotag import tag_message, tag_request, task_of
from bot.jobpool import Busy
from bot.services import Services
from classifier.types import Prediction

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
"""How long a taken message is this replica's. It holds at most half of ``HEED_JOB_QUEUE`` (32)
in memory, which the job pool's 4 threads tag in a few seconds even at Slack's ~0.3 s a call
(a second here with MiniLM on 2 cores and the fake Slack): only a dead replica lets it lapse."""
POLL_S = 1.0
"""How often an idle worker looks for messages other replicas queued or a dead one left."""
SWEEP_S = 30.0
"""How often messages past ``HEED_AUTOTAG_MAX_AGE`` are given up."""
BURST_RATE = 50.0
"""Messages/s arriving at this replica's listeners (over :data:`BURST_WINDOW_S`) above which the
worker leaves the CPU to them: each ack must reach Slack within 3 s, and on a small host a
burst's acks queued behind the model's batches missed it (benchmarks). A steady 30/s does not
pause the worker."""
BURST_WINDOW_S = 0.5
MAX_YIELD_S = 2.0
"""The longest the worker pauses in a row for a burst; then it takes one batch and may pause
again, so a flood that does not end is still tagged."""
YIELD_STEP_S = 0.05
DEGRADED_DEPTH = 1000
"""More messages waiting than this: ``/readyz`` reports the queue degraded."""
DEGRADED_AGE_S = 60.0
"""The oldest message waiting longer than this: ``/readyz`` reports the queue degraded."""


class AutotagWorker:
    """Keeps at most ``capacity`` messages in memory (taken, classifying or tagging): by
    default half the job queue (``HEED_JOB_QUEUE``), so commands always find room."""

    def __init__(self, services: Services, client: Any, owner: str, capacity: int = 0) -> None:
        self.services, self.client, self.owner = services, client, owner
        self.capacity = capacity or max(1, services.jobs.capacity // 2)
        self.batch = services.batcher.max_batch
        self.max_age = timedelta(seconds=services.settings.autotag_max_age)
        self._wake = services.db.pending.arrived  # set on each message queued and tag done
        self._arrivals = services.db.pending.arrivals
        self._yielding_since: float | None = None
        self._in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autotag-worker", daemon=True)
        self.depth = cached(TTLCache(1, 1.0), lock=threading.Lock())(services.db.pending.depth)
        """:meth:`~bot.database.pending.PendingTags.depth`, read at most once a second."""

    def start(self) -> AutotagWorker:
        """Start taking messages; export the queue's depth and age in ``/metrics``."""
        metrics = self.services.metrics
        metrics.autotag_pending.set_function(lambda: self._gauge(lambda d: d.pending))
        metrics.autotag_oldest.set_function(lambda: self._gauge(age_s))
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking messages (those in memory finish on the job pool or, if the process
        ends first, are taken again once their lease lapses)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def in_flight(self) -> int:
        """Messages taken by this replica and not yet tagged."""
        return self._in_flight

    def check(self) -> tuple[bool, str]:
        """A readiness check: always ready, "degraded" above :data:`DEGRADED_DEPTH` messages
        waiting or the oldest past :data:`DEGRADED_AGE_S`."""
        depth = self.depth()
        age = age_s(depth)
        if depth.pending > DEGRADED_DEPTH or age > DEGRADED_AGE_S:
            return True, f"degraded: {depth.pending} messages wait to be tagged, oldest {age:.0f}s"
        return True, ""

    def _gauge(self, read: Callable[[Depth], float]) -> float:
        """A gauge's value from the depth; NaN while the database does not answer (a scrape
        must not fail: ``/readyz`` names the database)."""
        try:
            return float(read(self.depth()))
        except Exception:
            return math.nan

    def _run(self) -> None:
        next_sweep = 0.0
        failing = False  # logged once per outage, not once a poll
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a message queued meanwhile wakes the wait
            taken = 0
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_S
                    self.give_up_stale()
                if self.listeners_first():
                    self._stop.wait(YIELD_STEP_S)
                    continue
                taken = self.take_once()
                failing = False
            except Exception:  # the database is away: try again at the next poll
                if not failing:
                    log.exception("auto-tag worker: cannot take queued messages")
                failing = True
            if not taken:
                self._wake.wait(POLL_S)

    def listeners_first(self) -> bool:
        """True while this replica's listeners receive a burst (over :data:`BURST_RATE`) and the
        worker has paused for it less than :data:`MAX_YIELD_S` in a row."""
        if self._arrivals.rate(BURST_WINDOW_S) < BURST_RATE:
            self._yielding_since = None
            return False
        now = time.monotonic()
        if self._yielding_since is None:
            self._yielding_since = now
        if now - self._yielding_since < MAX_YIELD_S:
            return True
        self._yielding_since = None  # its turn: one batch, then it may pause again
        return False

    def take_once(self) -> int:
        """Take as many queued messages as there is room for (one batch at most) and start
        them; how many were taken."""
        with self._lock:
            room = min(self.batch, self.capacity - self._in_flight)
        if room <= 0:
            return 0
        tags = self.services.db.pending.take(self.owner, room, LEASE)
        for tag in tags:
            with self._lock:
                self._in_flight += 1
            self._start(tag)
        return len(tags)

    def give_up_stale(self) -> int:
        """Give up messages waiting past ``HEED_AUTOTAG_MAX_AGE`` (or taken too often): each
        logged and counted in ``heed_autotags_total{outcome="given_up"}``; how many."""
        gone = self.services.db.pending.give_up(self.max_age)
        for tag in gone:
            log.warning(
                "auto-tag given up for %s/%s: queued at %s, taken %d times",
                tag.channel,
                tag.message_ts,
                tag.created.isoformat(timespec="seconds"),
                tag.attempts,
            )
        self.services.metrics.autotags.labels("given_up").inc(len(gone))
        return len(gone)

    def _start(self, tag: PendingTag) -> None:
        services = self.services
        try:
            name = task_of(services, self.client, tag.channel)
            if name is None:  # a #name that turned out to be another channel's
                self._finish(tag, "not_tagged")
                return
            try:
                services.models.holder(name)  # loaded on first use
            except Exception as exc:
                log.warning("task %s cannot tag %s/%s: %s", name, tag.channel, tag.message_ts, exc)
                self._finish(tag, "no_model")
                return
            future = services.batcher.submit((name, tag.text))
        except Busy:
            self._release(tag)
            return
        except Exception:  # the batcher is closed (shutting down): the lease brings it back
            log.exception("cannot start tagging %s/%s", tag.channel, tag.message_ts)
            self._done()
            return
        future.add_done_callback(partial(self._classified, tag, name))

    def _classified(self, tag: PendingTag, name: str, prediction: Future[Prediction]) -> None:
        try:
            self.services.jobs.submit(self._tag, tag, name, prediction)
        except Busy:
            self._release(tag)
        except Exception:  # the pool is shut down: the lease brings the message back
            self._done()

    def _tag(self, tag: PendingTag, name: str, prediction: Future[Prediction]) -> None:
        services = self.services
        try:
            task = services.settings.tasks.by_name[name]
            request = tag_request(services, self.client, tag, task)
            tag_message(request, tag, prediction.result())
            self._finish(tag, "tagged")
        except Exception:  # left leased: taken again when it lapses, up to MAX_ATTEMPTS
            services.metrics.autotags.labels("failed").inc()
            log.exception(
                "cannot tag %s/%s (attempt %d)", tag.channel, tag.message_ts, tag.attempts
            )
            self._done()

    def _finish(self, tag: PendingTag, outcome: str) -> None:
        """Delete the message and count ``outcome``; never raises (a row left behind is taken
        again after its lease and found already recorded)."""
        try:
            self.services.db.pending.finish(tag.id)
            self.services.metrics.autotags.labels(outcome).inc()
        except Exception:
            log.exception("cannot mark %s/%s done", tag.channel, tag.message_ts)
        finally:
            self._done()

    def _release(self, tag: PendingTag) -> None:
        """No room after all: hand the message back (no wake-up: the worker backs off a poll)."""
        try:
            self.services.db.pending.release(tag.id, self.owner)
        except Exception:  # its lease lapses instead
            log.exception("cannot hand back %s/%s", tag.channel, tag.message_ts)
        with self._lock:
            self._in_flight -= 1

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self._wake.set()


def age_s(depth: Depth) -> float:
    """Seconds the oldest queued message has waited (0 when none waits)."""
    if depth.oldest is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - depth.oldest).total_seconds())


def start_autotag_worker(services: Services, client: Any, owner: str) -> AutotagWorker:
    """This replica's worker, started (it also takes what other replicas queued)."""
    return AutotagWorker(services, client, owner).start()
