"""The cluster's janitor: expires and reports jobs whose lease ran out (one replica wins each, so
each is reported once); hourly it prunes old event keys and request signatures and runs the
retention sweep."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta

from slack_sdk import WebClient

from bot.database import Database, JobRecord
from bot.retrain.reporter import report_interrupted
from bot.services import Services
from bot.ticker import Ticker

log = logging.getLogger(__name__)

EVENT_TTL = timedelta(days=1)
PRUNE_EVERY_S = 3600.0


@dataclass(eq=False)
class Reaper(Ticker):
    """A daemon thread that expires dead replicas' jobs and prunes old event keys."""

    thread_name = "heed-reaper"
    db: Database
    _: KW_ONLY
    interval_s: float
    on_interrupted: Callable[[JobRecord], None]
    housekeeping: Callable[[], object] | None = None
    every_round: Callable[[], object] | None = None
    """Cheap work for every round (applying other replicas' forget tombstones)."""
    _last_prune: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        super().__init__()

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
        if self.every_round is not None:
            try:
                self.every_round()
            except Exception:
                log.exception("the reaper's round failed")
        now = time.monotonic()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            pruned = self.db.events.prune(EVENT_TTL)
            if pruned:
                log.info("pruned %d event keys older than %s", pruned, EVENT_TTL)
            self.db.signatures.prune()
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
    every_round: Callable[[], object] | None = None,
) -> Reaper:
    """Start this replica's reaper, ticking every third of the job lease and before each task's
    claims; it reports dead replicas' jobs in Slack."""
    reaper = Reaper(
        db,
        interval_s=max(1.0, services.settings.job_lease / 3),
        on_interrupted=functools.partial(report_interrupted, services, client),
        housekeeping=housekeeping,
        every_round=every_round,
    )
    for runner in services.runners.values():
        runner.before_claim = reaper.tick
    reaper.start()
    return reaper
