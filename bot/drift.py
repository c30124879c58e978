"""Drift, per task, daily: the serving version's predictions of the last week against those it
made on its held-out rows at training (``heed.json`` ``drift_reference``). Each check sets
``heed_drift{task,kind}``; a drifted one DMs the admins, at most once a week per task and admin
whichever replica checks (claimed in the database before it is sent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.drift import drift_alert
from bot.digest import send_once
from bot.services import Services
from bot.slack_api.errors import api_error
from bot.ticker import Ticker
from classifier.drift import (
    CONFIDENCE_BINS,
    WINDOW_DAYS,
    DriftReading,
    confidence_shares,
    drifted,
    label_shares,
    psi,
)

log = logging.getLogger(__name__)

WINDOW = timedelta(days=WINDOW_DAYS)
CHECK_EVERY_S = 900.0
"""How often a replica looks whether today's check is done (the check itself runs daily)."""


def measure(services: Services, task: str) -> DriftReading | None:
    """Check ``task`` now; None when nothing serves it or its version has no reference (it
    was trained before Heed recorded one)."""
    store = services.models.store(task)
    version = store.current()
    if version is None:
        return None
    reference = store.metadata(version).get("drift_reference")
    if not isinstance(reference, dict) or not reference.get("rows"):
        return None
    labels = list(reference["labels"])
    expected_labels = [float(reference["labels"][label]) for label in labels]
    ref_rows = int(reference["rows"])
    recent = services.db.traffic.predicted(task, version, WINDOW)
    rows = len(recent)
    actual_labels = label_shares([label for label, _ in recent], labels)
    on_labels = psi(expected_labels, actual_labels, ref_rows, rows)
    on_confidence = psi(
        reference["confidence"], confidence_shares([c for _, c in recent]), ref_rows, rows
    )
    floor = services.settings.drift_psi
    found = floor > 0 and (
        drifted(on_labels, len(labels), rows, ref_rows, floor)
        or drifted(on_confidence, CONFIDENCE_BINS, rows, ref_rows, floor)
    )
    return DriftReading(
        task=task,
        version=version,
        rows=rows,
        reference_rows=ref_rows,
        labels_psi=on_labels,
        confidence_psi=on_confidence,
        floor=floor,
        drifted=found,
        shares={
            label: (then, now)
            for label, then, now in zip(labels, expected_labels, actual_labels, strict=True)
        },
    )


def alert_period(at: datetime) -> str:
    """The ISO week ``at`` falls in: one alert per task, admin and week."""
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"drift:{year}-W{week:02d}"


@dataclass(eq=False)
class DriftWatch(Ticker):
    """Checks every task once a UTC day on one replica's thread; sends the alerts it claims."""

    thread_name = "heed-drift"
    services: Services
    client: WebClient
    owner: str = field(kw_only=True)
    clock: Callable[[], datetime] = field(kw_only=True, default=lambda: datetime.now(UTC))
    _done: dict[str, str] = field(default_factory=dict, init=False)  # task -> day checked

    def __post_init__(self) -> None:
        super().__init__()

    def tick(self) -> int:
        """Check each task not yet checked today; how many alerts were sent."""
        moment = self.clock()
        today = moment.astimezone(UTC).date().isoformat()
        sent = 0
        for task in self.services.settings.tasks.names:
            if self._done.get(task) == today:
                continue
            try:
                reading = measure(self.services, task)
            except Exception as exc:  # one task's broken store must not stop the others
                log.warning("drift of %s not measured: %s: %s", task, type(exc).__name__, exc)
                reading = None
            self._done[task] = today
            if reading is None:
                continue
            gauge = self.services.metrics.drift
            gauge.labels(task, "labels").set(reading.labels_psi)
            gauge.labels(task, "confidence").set(reading.confidence_psi)
            log.info(
                "drift of %s (%s, %d predictions in %d days): labels PSI %.3f, confidence "
                "PSI %.3f%s",
                task,
                reading.version,
                reading.rows,
                reading.window_days,
                reading.labels_psi,
                reading.confidence_psi,
                "; drifted" if reading.drifted else "",
            )
            if reading.drifted:
                sent += self._alert(reading, alert_period(moment))
        return sent

    def _alert(self, reading: DriftReading, period: str) -> int:
        db, settings = self.services.db, self.services.settings
        queue = len(db.queue.top(reading.task, settings.queue_size, settings.queue_days))
        text, blocks = drift_alert(reading, queue)
        admins = sorted(self.services.admin_for(reading.task).admins)
        send = partial(self._send, reading.task, text=text, blocks=blocks)
        return send_once(db, reading.task, period, admins, self.owner, send)

    def _send(self, task: str, admin: str, *, text: str, blocks: list) -> str:
        try:
            dm = self.client.conversations_open(users=admin)["channel"]["id"]
            self.client.chat_postMessage(channel=dm, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            why = (isinstance(exc, SlackApiError) and api_error(exc)) or type(exc).__name__
            log.warning("drift alert of %s for %s not sent: %s", task, admin, why)
            return f"failed: {why}"
        return "sent drift alert"

    def wait_s(self) -> float:
        """A few looks an hour; the check itself runs once a day per task."""
        return CHECK_EVERY_S
