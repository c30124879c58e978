"""What every job shares (:class:`Services`) and is handed (:class:`Request`); a failed job is
logged with a reference the person gets in a private apology (never a trace)."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.access import AdminCheck, LabelCheck
from bot.agreement import Agreement, agreement
from bot.cache import RecentValues
from bot.channels import ChannelMatcher
from bot.context import format_context, request_context
from bot.database import Database
from bot.database.queue import QUEUE_FIRST, QueueOffer
from bot.jobpool import Busy, JobPool
from bot.ops.metrics import Metrics, request_kind
from bot.privacy import ConversationPrivacy
from bot.ratelimit import REFUSALS_PER_MINUTE, RateLimiter
from bot.serving.batching import ExplainBatcher, MicroBatcher
from bot.serving.holder import TaskModels
from bot.serving.shadow import ShadowModels
from bot.settings import Settings
from bot.tasks import Task
from classifier.uncertainty import uncertainty

if TYPE_CHECKING:
    from bot.retrain.runner import RetrainRunner
    from classifier.types import Prediction

log = logging.getLogger(__name__)

JOB_WORKERS = 4
ACK_WAIT = 3.0
BUSY_LOG_INTERVAL = 10.0
HOME_TTL = 5.0  # seconds a user's App Home view is reused


def apology(ref: str) -> str:
    """What the person sees when handling their command failed (no details, a log ref)."""
    return f":face_with_head_bandage: Sorry, Heed couldn't handle that. (ref `{ref}`)"


@dataclass(frozen=True)
class Request:
    """One Slack request as its job sees it: who asked where, for which task, what was parsed."""

    services: Services
    client: WebClient
    body: Mapping[str, Any]
    task: Task
    respond: Respond | None = None
    """Answers through the request's ``response_url`` (None for events, which have none)."""
    user: str = ""
    channel: str = ""
    team: str | None = None
    """The workspace that installed Heed (from ``auth.test``), for the label checks."""
    text: str = ""
    """``/classify``'s text, ``/heed-admin``'s arguments or a message's text."""
    method: str = ""
    subcommand: str = ""
    bot_user: str | None = None
    """This app's bot user (from ``auth.test``), so its own messages are never tagged."""
    ack_sent: threading.Event | None = None
    received_at: float | None = None

    @property
    def action(self) -> dict[str, Any]:
        """A block action's element (``action_id``, ``value``, ...), else empty."""
        actions = self.body.get("actions") or [{}]
        return actions[0] if isinstance(actions[0], dict) else {}

    @property
    def user_team(self) -> str | None:
        """The workspace of the person who asked."""
        who = self.body.get("user")
        return (who.get("team_id") if isinstance(who, dict) else None) or self.body.get("team_id")

    @property
    def thread_ts(self) -> str | None:
        """The thread it was asked in (a command's, a shortcut's message's)."""
        message = self.body.get("message")
        return self.body.get("thread_ts") or (
            message.get("thread_ts") if isinstance(message, dict) else None
        )

    @property
    def is_command(self) -> bool:
        """A slash command (its ``response_url`` answers in any conversation)."""
        return bool(self.body.get("command"))

    @property
    def context(self) -> dict[str, Any]:
        """Who and where, for log lines."""
        return request_context(self.body)

    def private(self, text: str, blocks: list[dict] | None = None) -> None:
        """Answer the person only (ephemeral, through the ``response_url``)."""
        assert self.respond is not None
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


Job = Callable[[Request], None]


@dataclass(frozen=True)
class Answer:
    """What an ack step acks with when it hands nothing on (usage, a refusal; empty: bare ack)."""

    text: str | None = None
    blocks: list[dict] | None = None


Accept = Callable[[Request], "Request | Answer"]
"""An ack step: the request to hand on (with what it parsed), or the answer to ack with."""


@dataclass
class Services:
    """The shared state of one running bot; ``models`` and ``runners`` are by task name."""

    settings: Settings
    db: Database
    models: TaskModels
    runners: Mapping[str, RetrainRunner]
    metrics: Metrics = field(default_factory=Metrics)
    home_views: RecentValues = field(default_factory=lambda: RecentValues(HOME_TTL))
    explainer: ExplainBatcher = field(default_factory=ExplainBatcher)
    """Batches concurrent ``/classify`` and auto-tag explanations (one-pass methods)."""
    jobs: JobPool = field(init=False)
    batcher: MicroBatcher[tuple[str, str], Prediction] = field(init=False)
    """Auto-tag predictions: ``(task, text)`` in, each task's texts predicted together."""
    channels: ChannelMatcher = field(init=False)
    privacy: ConversationPrivacy = field(default_factory=ConversationPrivacy)
    """Which conversations are public (only their texts reach the labelling queue)."""
    admin: AdminCheck = field(init=False)
    labelers: LabelCheck = field(init=False)
    rate: RateLimiter = field(init=False)
    shadows: ShadowModels = field(init=False)
    """The version shadowing each task, loaded here; it predicts, records, never acts."""
    refusals: RateLimiter = field(default_factory=lambda: RateLimiter(REFUSALS_PER_MINUTE))

    def __post_init__(self) -> None:
        settings = self.settings
        self.jobs = JobPool(JOB_WORKERS, max(JOB_WORKERS, settings.job_queue))
        self.batcher = MicroBatcher(
            self._predict_batch, name="autotag", max_pending=settings.job_queue
        )
        self.channels = ChannelMatcher(settings.tasks)
        self.admin = AdminCheck(settings.admins, settings.admins_from_workspace)
        self.labelers = LabelCheck(settings.labelers, self.admin)
        self._task_checks = {task.name: self._checks_for(task) for task in settings.tasks}
        self.rate = RateLimiter(settings.classify_per_minute)
        self.shadows = ShadowModels(self.db, self.models.store)
        self._busy_logged = -BUSY_LOG_INTERVAL
        default = settings.tasks.default_name
        self.metrics.watch_model(lambda: self.models.holder(default).version)
        self.metrics.jobs_pending.set_function(lambda: self.jobs.pending)
        self.metrics.watch_agreement(self.agreements)

    def agreements(self) -> dict[str, Agreement]:
        """Each task's labeler agreement (read by ``/metrics``)."""
        ratings = self.db.predictions.trusted_ratings
        return {task.name: agreement(ratings(task.name)) for task in self.settings.tasks}

    def _checks_for(self, task: Task) -> tuple[AdminCheck, LabelCheck]:
        """``task``'s admin and label checks: the variables' unless heed.toml lists its own."""
        admins, labelers = self.settings.admins, self.settings.labelers
        admin = self.admin
        if task.admins is not None and task.admins != admins:
            admin = AdminCheck(task.admins, self.settings.admins_from_workspace)
        if admin is self.admin and task.labelers in (None, labelers):
            return admin, self.labelers
        return admin, LabelCheck(labelers if task.labelers is None else task.labelers, admin)

    def admin_for(self, task: str) -> AdminCheck:
        """Who administers ``task`` (an unknown task: the ``HEED_ADMINS`` check)."""
        return self._task_checks.get(task, (self.admin, self.labelers))[0]

    def labelers_for(self, task: str) -> LabelCheck:
        """Who labels ``task``'s predictions (an unknown task: the ``HEED_LABELERS`` check)."""
        return self._task_checks.get(task, (self.admin, self.labelers))[1]

    def queue_offer(self, scores: Mapping[str, float], first: bool = False) -> QueueOffer:
        """A prediction's claim to its task's labelling queue: uncertainty (raised by
        :data:`QUEUE_FIRST` when ``first``: an abstention) and the queue's bound."""
        settings = self.settings
        return QueueOffer(
            uncertainty(scores.values(), settings.queue_score) + (QUEUE_FIRST if first else 0.0),
            size=settings.queue_size,
            days=settings.queue_days,
            double_share=settings.double_label,
        )

    def _predict_batch(self, items: list[tuple[str, str]]) -> list[Prediction]:
        by_task: dict[str, list[int]] = {}
        for i, (task, _text) in enumerate(items):
            by_task.setdefault(task, []).append(i)
        out: list[Prediction | None] = [None] * len(items)
        for task, indexes in by_task.items():
            classifier = self.models.holder(task).get()
            predictions = classifier.predict([items[i][1] for i in indexes])
            for i, prediction in zip(indexes, predictions, strict=True):
                out[i] = prediction
                self.metrics.predictions.labels("autotag", prediction.label).inc()
        log.info("auto-tag: classified a batch of %d message(s)", len(items))
        return [p for p in out if p is not None]

    def rate_limited(self, user: str | None) -> float:
        """0 when ``user`` may classify now (``HEED_CLASSIFY_PER_MINUTE``), else the seconds to
        wait (counted in ``heed_busy_refusals_total{reason="rate_limited"}``)."""
        wait = self.rate.wait_for(user or "?")
        if wait > 0:
            self.metrics.busy.labels("rate_limited").inc()
        return wait

    def submit(self, job: Job, request: Request) -> Future[None]:
        """Run ``job(request)`` on the job pool once the request's ack is on the wire (at most
        :data:`ACK_WAIT` s); raises :class:`~bot.jobpool.Busy` when the queue is full."""
        try:
            return self.jobs.submit(self._run, job, request)
        except Busy:
            self.metrics.busy.labels("queue_full").inc()
            now = time.monotonic()
            if now - self._busy_logged >= BUSY_LOG_INTERVAL:  # a flood must not flood the log
                self._busy_logged = now
                log.warning(
                    "job queue full (HEED_JOB_QUEUE=%d); refusing work, e.g. %s [%s]",
                    self.jobs.capacity,
                    _name(job),
                    format_context(request.context),
                )
            raise

    def _run(self, job: Job, request: Request) -> None:
        context = request.context
        if request.ack_sent is not None and not request.ack_sent.wait(ACK_WAIT):
            log.warning(
                "ack not sent after %.0fs; going on [%s]", ACK_WAIT, format_context(context)
            )
        try:
            job(request)
            if request.received_at is not None:
                elapsed = time.monotonic() - request.received_at
                self.metrics.reply_seconds.labels(request_kind(request.body)).observe(elapsed)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("%s failed [ref=%s %s]", _name(job), ref, format_context(context))
            if request.respond is None:
                return
            try:
                request.private(apology(ref))
            except Exception:
                log.exception("could not report failure ref=%s to the user", ref)

    def close(self, retrain_grace: float = 8.0) -> None:
        """Stop retrains (their outcome is still reported), finish queued work, close all."""
        self.jobs.wait_idle(timeout=5.0)  # queued jobs finish while the batcher still runs
        self.batcher.close()
        self.shadows.close()
        for runner in self.runners.values():
            runner.close(timeout=retrain_grace)
        self.jobs.shutdown(wait=True, cancel_futures=False)
        self.explainer.close()
        self.db.close()


def _name(job: Callable[..., Any]) -> str:
    """A job's name for log lines (a ``functools.partial``'s function's)."""
    return getattr(job, "__name__", None) or getattr(getattr(job, "func", None), "__name__", "job")
