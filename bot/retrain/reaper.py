"""The cluster's janitor: jobs whose replica died are marked interrupted and reported; old
event keys are pruned.

Every replica runs one :class:`Reaper`. Each tick asks the database to mark running jobs whose
lease expired as ``interrupted`` — an update only one replica can make for a given job, so each
is reported once — and hands every such job to ``on_interrupted`` (which tells Slack). Event
keys older than ``event_ttl`` are deleted about once an hour, when ``housekeeping`` (the
retention sweep, :mod:`bot.retention`) runs too. :func:`start_reaper` wires it to Slack and to
every task's runner.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from slack_sdk import WebClient

from bot.database import Database, JobRecord
from bot.retrain.reporter import report_interrupted
from bot.services import Services
from bot.ticker import Ticker

log = logging.getLogger(__name__)

EVENT_TTL = timedelta(days=1)
PRUNE_EVERY_S = 3600.0


class Reaper(Ticker):
    """A daemon thread that expires dead replicas' jobs and prunes old event keys."""

    thread_name = "heed-reaper"

    def __init__(
        self,
        db: Database,
        *,
        interval_s: float,
        on_interrupted: Callable[[JobRecord], None],
        event_ttl: timedelta = EVENT_TTL,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:
        self.db = db
        self.housekeeping = housekeeping
        self.interval_s = interval_s
        self.on_interrupted = on_interrupted
        self.event_ttl = event_ttl
        super().__init__()
        self._last_prune = float("-inf")

    def tick(self) -> list[JobRecord]:
        """One round: expire and report dead jobs, prune events when due; the expired jobs."""
        expired = self.db.jobs.expire_stale()
        for record in expired:
            log.warning(
                "retraining job %d was interrupted: its replica %s stopped renewing the lease",
                record.id,
                record.owner,
            )
            try:
                self.on_interrupted(record)
            except Exception:
                log.exception("cannot report interrupted job %d", record.id)
        now = time.monotonic()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            pruned = self.db.events.prune(self.event_ttl)
            if pruned:
                log.info("pruned %d event keys older than %s", pruned, self.event_ttl)
            if self.housekeeping is not None:
                try:
                    self.housekeeping()
                except Exception:
                    log.exception("retention sweep failed")
        return expired

    def wait_s(self) -> float:
        """``interval_s``: the reaper ticks at a fixed rate."""
        return self.interval_s


def start_reaper(
    db: Database,
    services: Services,
    client: WebClient,
    housekeeping: Callable[[], object] | None = None,
) -> Reaper:
    """Start this replica's reaper, ticking every third of the job lease: it reports dead
    replicas' jobs in Slack, and each task's runner ticks it before claiming a job (so a dead
    replica's job that the claim would expire in passing is reported first)."""
    reaper = Reaper(
        db,
        interval_s=max(1.0, services.settings.job_lease / 3),
        on_interrupted=functools.partial(report_interrupted, services, client),
        housekeeping=housekeeping,
    )
    for runner in services.runners.values():
        runner.before_claim = reaper.tick
    reaper.start()
    return reaper
