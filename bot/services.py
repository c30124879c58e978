"""What the listeners share: settings, the model holder, a job pool, the batcher, caches.

Listeners ``ack()`` and return at once; the slow part (inference, rendering, Slack calls)
runs as a *job* on a small thread pool of its own, so Bolt's threads are free for the next
acknowledgement however slow the model is. :meth:`Services.submit` logs a failed job with
its context and calls its ``on_error`` (e.g. a short apology to the user).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.access import AdminCheck
from bot.blocks.common import apology
from bot.cache import SeenCache
from bot.channels import ChannelMatcher
from bot.context import format_context, request_context
from bot.labeling import LabelCheck
from bot.serving.batching import MicroBatcher
from bot.serving.holder import ModelHolder
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.database import Database
    from bot.retrain.runner import RetrainRunner
    from classifier.types import Prediction

log = logging.getLogger(__name__)

JOB_WORKERS = 4
ACK_SENT = "heed_ack_sent"
"""Request-context key of a ``threading.Event`` set once the ack has been sent to Slack
(by :mod:`bot.transports.socket_mode` and :mod:`bot.transports.http`)."""
ACK_WAIT = 3.0
SERVICES_KEY = "heed_services"
"""Request-context key under which :func:`bot.listeners.register` puts the :class:`Services`."""


@dataclass
class Services:
    """The shared state of one running bot."""

    settings: Settings
    holder: ModelHolder
    jobs: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(JOB_WORKERS, thread_name_prefix="heed-job")
    )
    seen: SeenCache = field(default_factory=SeenCache)
    batcher: MicroBatcher[str, Prediction] | None = None
    channels: ChannelMatcher | None = None
    db: Database | None = None
    """The database (predictions, answers, jobs, audit log); None disables the feedback
    controls and the admin command's retrain/export (a bot without a database)."""
    retrain: RetrainRunner | None = None
    """Runs retraining jobs for ``/heed-admin retrain`` (needs :attr:`db`)."""
    admin: AdminCheck | None = None
    labelers: LabelCheck | None = None
    """Who may label predictions (the asker, ``HEED_LABELERS``, admins)."""

    def __post_init__(self) -> None:
        if self.batcher is None:
            self.batcher = MicroBatcher(self._predict_batch, name="autotag")
        if self.channels is None:
            self.channels = ChannelMatcher(self.settings.autotag_channels)
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

    def _predict_batch(self, texts: list[str]) -> list[Prediction]:
        predictions = self.holder.get().predict(texts)
        log.info("auto-tag: classified a batch of %d message(s)", len(texts))
        return predictions

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        context: Mapping[str, Any] | None = None,
        on_error: Callable[[str], None] | None = None,
        after: threading.Event | None = None,
    ) -> Future[None]:
        """Run ``fn(*args)`` on the job pool, once ``after`` is set (the ack was sent; at most
        :data:`ACK_WAIT` s). A failure is logged with ``context`` and a reference, and
        ``on_error(ref)`` is called (its own failure is logged too)."""
        return self.jobs.submit(self._run, fn, args, dict(context or {}), on_error, after)

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

        return self.submit(
            fn,
            *args,
            context=request_context(body),
            on_error=apologise,
            after=bolt_context.get(ACK_SENT),
        )

    @staticmethod
    def _run(
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        context: dict[str, Any],
        on_error: Callable[[str], None] | None,
        after: threading.Event | None,
    ) -> None:
        if after is not None and not after.wait(ACK_WAIT):
            log.warning(
                "ack not sent after %.0fs; going on [%s]", ACK_WAIT, format_context(context)
            )
        try:
            fn(*args)
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
        if self.batcher is not None:
            self.batcher.close()
        if self.retrain is not None:
            self.retrain.close(timeout=retrain_grace)
        self.jobs.shutdown(wait=True, cancel_futures=False)
        if self.db is not None:
            self.db.close()


def services_of(bolt_context: Mapping[str, Any]) -> Services:
    """The :class:`Services` of the app that received this request."""
    return bolt_context[SERVICES_KEY]
