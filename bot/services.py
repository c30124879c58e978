"""What the listeners share: settings, the model holder, a job pool, the batchers, caches.

Listeners parse, ``ack()`` and return at once; the slow part (inference, rendering, every
Slack call) runs as a *job* on a small thread pool of its own, so Bolt's threads are free for
the next acknowledgement however slow the model or Slack is. The pool's queue is bounded
(``HEED_JOB_QUEUE``): when it is full :meth:`Services.submit` raises
:class:`~bot.jobpool.Busy` and the listener answers "busy, try again in a moment" in its ack.
:meth:`Services.submit` logs a failed job with its context and calls its ``on_error`` (e.g. a
short apology to the user).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.access import AdminCheck
from bot.blocks.common import apology
from bot.cache import SeenCache
from bot.channels import ChannelMatcher
from bot.context import format_context, request_context
from bot.database.queue import QueueOffer
from bot.jobpool import Busy, JobPool
from bot.labeling import LabelCheck
from bot.ops.metrics import Metrics, request_kind
from bot.ratelimit import RateLimiter
from bot.serving.batching import MicroBatcher
from bot.serving.explaining import ExplainBatcher
from bot.serving.holder import ModelHolder
from bot.serving.tasks import TaskModels
from bot.settings import Settings
from bot.tasks import Task
from classifier.store import ModelStore
from classifier.uncertainty import uncertainty

if TYPE_CHECKING:
    from bot.database import Database
    from bot.retrain.runner import RetrainRunner
    from classifier.model import Classifier
    from classifier.types import Prediction

log = logging.getLogger(__name__)

JOB_WORKERS = 4
ACK_SENT = "heed_ack_sent"
"""Request-context key of a ``threading.Event`` set once the ack has been sent to Slack
(by :mod:`bot.transports.socket_mode` and :mod:`bot.transports.http`)."""
RECEIVED_AT = "heed_received_at"
"""Request-context key of the ``time.monotonic()`` at which the transport received it."""
ACK_WAIT = 3.0
BUSY_LOG_INTERVAL = 10.0
SERVICES_KEY = "heed_services"
"""Request-context key under which :func:`bot.listeners.register` puts the :class:`Services`."""


@dataclass
class Services:
    """The shared state of one running bot."""

    settings: Settings
    holder: ModelHolder
    """The default task's holder (loaded at start-up)."""
    jobs: JobPool | None = None
    metrics: Metrics = field(default_factory=Metrics)
    seen: SeenCache = field(default_factory=SeenCache)
    batcher: MicroBatcher[tuple[str, str], Prediction] | None = None
    """Auto-tag predictions: ``(task, text)`` in, each task's texts predicted together."""
    explainer: ExplainBatcher = field(default_factory=ExplainBatcher)
    """Batches concurrent ``/classify`` and auto-tag explanations (one-pass methods)."""
    channels: ChannelMatcher | None = None
    db: Database | None = None
    """The database (predictions, answers, jobs, audit log); None disables the feedback
    controls and the admin command's retrain/export (a bot without a database)."""
    retrain: RetrainRunner | None = None
    """Runs retraining jobs for ``/heed-admin retrain`` (needs :attr:`db`)."""
    admin: AdminCheck | None = None
    labelers: LabelCheck | None = None
    """Who may label predictions (the asker, ``HEED_LABELERS``, admins)."""
    models: TaskModels | None = None
    """Every task's serving model (the default's is :attr:`holder`), loaded on first use."""
    runners: dict[str, RetrainRunner] = field(default_factory=dict)
    """Each task's retrain runner; the default task's is :attr:`retrain`."""

    def __post_init__(self) -> None:
        if self.jobs is None:
            self.jobs = JobPool(JOB_WORKERS, max(JOB_WORKERS, self.settings.job_queue))
        if self.batcher is None:
            self.batcher = MicroBatcher(
                self._predict_batch, name="autotag", max_pending=self.settings.job_queue
            )
        self.rate = RateLimiter(self.settings.classify_per_minute)
        self._busy_logged = -BUSY_LOG_INTERVAL
        self.metrics.watch_model(lambda: self.holder.version)
        self.metrics.jobs_pending.set_function(lambda: self.jobs.pending if self.jobs else 0)
        if self.channels is None:
            self.channels = ChannelMatcher.for_tasks(self.settings.tasks)
        if self.models is None:
            self.models = TaskModels(self.settings.tasks, self.holder, device=self.settings.device)
        if self.admin is None:
            self.admin = AdminCheck(self.settings.admins, self.settings.admins_from_workspace)
        if self.labelers is None:
            self.labelers = LabelCheck(self.settings.labelers, self.admin)

    def first_time(self, event_id: str | None, channel: str, ts: str | None) -> bool:
        """True for the first delivery of a message event to any replica; False for a
        redelivery (same ``event_id``) or the same message under another event id.

        The keys are claimed in the database with an insert only one replica can win, so the
        answer survives restarts and holds across replicas; this replica's own cache answers
        repeats without a round trip. When the database cannot be reached the local cache
        decides alone (a message may then be tagged by two replicas, never by none).
        """
        keys = [f"event:{event_id}" if event_id else None, f"message:{channel}:{ts}"]
        if not self.seen.first_time(*keys):
            return False
        if self.db is None:
            return True
        try:
            return self.db.events.claim([k for k in keys if k is not None])
        except Exception:
            log.exception("cannot claim event %s in the database; deduplicating locally", keys)
            return True

    @property
    def tasks(self) -> list[Task]:
        """Every task, in configuration order."""
        return list(self.settings.tasks)

    def task(self, name: str | None = None) -> Task:
        """The task called ``name`` (the default task for None); KeyError when unknown."""
        tasks = self.settings.tasks
        return tasks.default if name is None else tasks.by_name[name]

    def classifier(self, task: str | None = None) -> Classifier:
        """The serving classifier of ``task`` (the default for None), loading it on first use;
        keep the reference for the whole request."""
        assert self.models is not None
        return self.models.holder(self.task(task).name).get()

    def holder_of(self, task: str | None = None) -> ModelHolder:
        """The loaded holder of ``task`` (the default for None)."""
        assert self.models is not None
        return self.models.holder(self.task(task).name)

    def store_of(self, task: str | None = None) -> ModelStore:
        """The model store of ``task`` (the default for None), loaded or not."""
        found = self.task(task)
        if found.name == self.settings.tasks.default_name:
            return self.holder.store
        return ModelStore(found.model_dir)

    def runner(self, task: str | None = None) -> RetrainRunner | None:
        """The retrain runner of ``task`` (the default for None), or None without one."""
        name = self.task(task).name
        if name == self.settings.tasks.default_name and self.retrain is not None:
            return self.retrain
        return self.runners.get(name)

    def queue_offer(self, scores: Mapping[str, float]) -> QueueOffer:
        """A prediction's claim to its task's labelling queue: its uncertainty
        (``HEED_QUEUE_SCORE`` of its probabilities) and the queue's bound."""
        settings = self.settings
        return QueueOffer(
            uncertainty(scores.values(), settings.queue_score),
            size=settings.queue_size,
            days=settings.queue_days,
        )

    def _predict_batch(self, items: list[tuple[str, str]]) -> list[Prediction]:
        by_task: dict[str, list[int]] = {}
        for i, (task, _text) in enumerate(items):
            by_task.setdefault(task, []).append(i)
        out: list[Prediction | None] = [None] * len(items)
        for task, indexes in by_task.items():
            predictions = self.classifier(task).predict([items[i][1] for i in indexes])
            for i, prediction in zip(indexes, predictions, strict=True):
                out[i] = prediction
                self.metrics.predictions.labels("autotag", prediction.label).inc()
        log.info("auto-tag: classified a batch of %d message(s)", len(items))
        return [p for p in out if p is not None]

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        context: Mapping[str, Any] | None = None,
        on_error: Callable[[str], None] | None = None,
        after: threading.Event | None = None,
        timing: tuple[str, float] | None = None,
    ) -> Future[None]:
        """Run ``fn(*args)`` on the job pool, once ``after`` is set (the ack was sent; at most
        :data:`ACK_WAIT` s). A failure is logged with ``context`` and a reference, and
        ``on_error(ref)`` is called (its own failure is logged too). With ``timing`` (a request
        kind and the monotonic time it arrived) a success is timed in ``heed_reply_seconds``.

        Raises :class:`~bot.jobpool.Busy` (nothing started) when the pool's queue is full.
        """
        assert self.jobs is not None
        try:
            return self.jobs.submit(
                self._run, fn, args, dict(context or {}), on_error, after, timing
            )
        except Busy:
            self.metrics.busy.labels("queue_full").inc()
            now = time.monotonic()
            if now - self._busy_logged >= BUSY_LOG_INTERVAL:  # a flood must not flood the log
                self._busy_logged = now
                log.warning(
                    "job queue full (HEED_JOB_QUEUE=%d); refusing work, e.g. %s [%s]",
                    self.jobs.capacity,
                    fn.__name__,
                    format_context(context or {}),
                )
            raise

    def submit_after_ack(
        self,
        fn: Callable[..., Any],
        *args: Any,
        respond: Callable[..., Any],
        bolt_context: Mapping[str, Any],
        body: Mapping[str, Any],
    ) -> Future[None]:
        """:meth:`submit` for a listener that has just acked: the job waits for the ack to be
        on the wire, its failures are logged with the request's context (from ``body``), and
        the user gets a short private apology (never a trace)."""

        def apologise(ref: str) -> None:
            respond(text=apology(ref), response_type="ephemeral", replace_original=False)

        received = bolt_context.get(RECEIVED_AT)
        return self.submit(
            fn,
            *args,
            context=request_context(body),
            on_error=apologise,
            after=bolt_context.get(ACK_SENT),
            timing=(request_kind(body), received) if received is not None else None,
        )

    def rate_limited(self, user: str | None) -> float:
        """0 when ``user`` may classify now (``HEED_CLASSIFY_PER_MINUTE``), else the seconds to
        wait (counted in ``heed_busy_refusals_total{reason="rate_limited"}``)."""
        wait = self.rate.wait_for(user or "?")
        if wait > 0:
            self.metrics.busy.labels("rate_limited").inc()
        return wait

    def _run(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        context: dict[str, Any],
        on_error: Callable[[str], None] | None,
        after: threading.Event | None,
        timing: tuple[str, float] | None,
    ) -> None:
        if after is not None and not after.wait(ACK_WAIT):
            log.warning(
                "ack not sent after %.0fs; going on [%s]", ACK_WAIT, format_context(context)
            )
        try:
            fn(*args)
            if timing is not None:
                kind, received = timing
                self.metrics.reply_seconds.labels(kind).observe(time.monotonic() - received)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("%s failed [ref=%s %s]", fn.__name__, ref, format_context(context))
            if on_error is not None:
                try:
                    on_error(ref)
                except Exception:
                    log.exception("could not report failure ref=%s to the user", ref)

    def close(self, retrain_grace: float = 8.0) -> None:
        """Stop a running retrain (its outcome is still reported), finish queued work, stop
        the threads, close the database."""
        assert self.jobs is not None
        self.jobs.wait_idle(timeout=5.0)  # routing jobs may still hand texts to the batcher
        if self.batcher is not None:
            self.batcher.close()
        runners = {id(r): r for r in [self.retrain, *self.runners.values()] if r is not None}
        for runner in runners.values():
            runner.close(timeout=retrain_grace)
        self.jobs.shutdown(wait=True, cancel_futures=False)
        self.explainer.close()
        if self.db is not None:
            self.db.close()


def services_of(bolt_context: Mapping[str, Any]) -> Services:
    """The :class:`Services` of the app that received this request."""
    return bolt_context[SERVICES_KEY]
