"""A retraining job in Slack: its status message edited with the progress, then its outcome; and
the report of a job whose replica died."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.database import JobRecord
from bot.retrain.jobs import Job, JobResult, describe_progress
from bot.retrain.messages import (
    evaluation_blocks,
    retrain_failed,
    retrain_finished,
    retrain_interrupted,
    retrain_progress,
)
from bot.services import Services
from bot.slack_api.errors import api_error
from bot.slack_api.uploads import upload_or_say_why

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 3.0
FIGURES = (
    ("confusion_matrix.png", "Confusion matrix", "rows: true label, columns: predicted"),
    (
        "reliability_diagram.png",
        "Reliability diagram",
        "accuracy per confidence bin, before and after calibration",
    ),
)
"""The PNGs a run writes into its version directory: title, and what they show."""


@dataclass
class Throttle:
    """Let something happen at most once every ``interval_s`` seconds, or always when forced
    (milestones such as an epoch's metrics). Thread-safe."""

    interval_s: float = 3.0
    _: KW_ONLY
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def ready(self, *, force: bool = False) -> bool:
        """True when the caller may act now (and the interval restarts)."""
        with self._lock:
            now = self.clock()
            if force or self._last is None or now - self._last >= self.interval_s:
                self._last = now
                return True
            return False


@dataclass(eq=False)
class RetrainReporter:
    """Turns one job's callbacks into Slack messages (status edits, evaluation, PNG)."""

    services: Services
    client: WebClient
    channel: str
    ts: str
    requested_by: str | None
    task: str
    throttle: Throttle = field(default_factory=lambda: Throttle(PROGRESS_INTERVAL))
    job: Job | None = field(default=None, init=False)
    t0: float = field(default_factory=time.monotonic, init=False)
    _started: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)  # edits in order
    _final: bool = field(default=False, init=False)  # no edit after the final one

    def started(self, job: Job) -> None:
        """The runner accepted ``job`` (callbacks may come from now on): say so."""
        self.job = job
        self.progress(describe_progress(None))
        self._started.set()

    def progress(self, text: str) -> None:
        """Show ``text`` as the job's progress, unless the job has already ended."""
        job = self.job
        if job is None:
            return
        line = retrain_progress(job.id, self.requested_by, text, time.monotonic() - self.t0)
        with self._lock:
            if not self._final:
                self._say(self.client.chat_update, ts=self.ts, text=line)

    def on_progress(self, event: dict[str, Any]) -> None:
        """Reader thread: edit the status message, throttled (each epoch always shows)."""
        force = event.get("event") in ("start", "epoch")
        if not self.throttle.ready(force=force):
            return
        self._started.wait(5.0)
        job = self.job
        if job is not None:
            self.progress(describe_progress(event, job.start_event))

    def final(self, text: str) -> None:
        """The status message's last edit."""
        with self._lock:
            self._final = True
            self._say(self.client.chat_update, ts=self.ts, text=text)

    def on_done(self, result: JobResult) -> None:
        """Supervisor thread: swap to a promoted version, then report the outcome."""
        holder = self.services.models.holder(self.task)
        train, swap_note = result.train, ""
        if result.succeeded and train.promoted:
            holder.reload()  # atomic swap now; in-flight requests keep the old classifier
            if holder.version != train.version:
                swap_note = (
                    f":warning: The bot could not load `{train.version}` and still serves "
                    f"`{holder.version}`: see its log."
                )
        serving = holder.version
        outcome = "promoted" if train.promoted else "kept" if result.succeeded else result.status
        self.services.metrics.retrain_jobs.labels(outcome).inc()
        if not result.succeeded:
            line = retrain_failed(result, self.requested_by, serving)
            self.final(line)
            self._say(self.client.chat_postMessage, text=line, unfurl_links=False)
            return
        self.final(retrain_finished(result, serving))
        text, evaluation = evaluation_blocks(result, self.requested_by, serving, swap_note)
        self._say(self.client.chat_postMessage, text=text, blocks=evaluation, unfurl_links=False)
        version = train.version
        for name, title, explained in FIGURES:
            png = train.figure(name)
            if png is not None and not upload_or_say_why(
                self.client,
                channel=self.channel,
                thread_ts=None,
                content=png.read_bytes(),
                filename=f"{title.lower().replace(' ', '-')}-{version}.png",
                title=f"{title} · {version}",
                comment=f"{title} of `{version}` on the held-out rows ({explained}).",
                what=title.lower(),
            ):
                self.services.metrics.upload_failures.inc()

    def say(self, text: str) -> None:
        """Post one more line beside the status message."""
        self._say(self.client.chat_postMessage, text=text, unfurl_links=False)

    def _say(self, call: Callable[..., object], **message: Any) -> None:
        try:
            call(channel=self.channel, **message)
        except SlackApiError as exc:  # the outcome is stored; Slack only misses this message
            log.warning("cannot send the retrain status to Slack: %s", api_error(exc))


def report_interrupted(services: Services, client: WebClient, record: JobRecord) -> None:
    """Tell Slack a job's replica died: edit its status message and post one line beside it."""
    services.metrics.retrain_jobs.labels("interrupted").inc()
    if not record.channel:
        return
    tasks = services.settings.tasks
    task = record.task if tasks.by_name.get(record.task) else tasks.default_name
    line = retrain_interrupted(record, services.models.store(task).current())
    try:
        if record.message_ts:
            client.chat_update(channel=record.channel, ts=record.message_ts, text=line)
        client.chat_postMessage(channel=record.channel, text=line, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("cannot report interrupted job %d: %s", record.id, api_error(exc))
