"""Each ``HEED_QUEUE_DIGEST`` period, DM every labeler and admin each task's least-certain messages,
at most :data:`PER_AUTHOR` by one author (someone posting many uncertain messages cannot fill
every labeler's DM); a DM is claimed in the database before it is sent: at most one per task,
period and user."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.feedback import QUEUE_SHOWN, queue_message
from bot.database import Database
from bot.database.connection import failure_line
from bot.database.queue import QueuedItem
from bot.services import Services
from bot.slack_api.client import usergroup_members
from bot.slack_api.errors import api_error
from bot.ticker import Ticker

log = logging.getLogger(__name__)

PER_AUTHOR = 2
CANDIDATES = 100
"""Queue items read per digest, to fill it with :data:`PER_AUTHOR` per author."""


def few_per_author(items: Sequence[QueuedItem], limit: int = PER_AUTHOR) -> list[QueuedItem]:
    """``items`` in order, without any past the ``limit``-th of the same author."""
    kept: list[QueuedItem] = []
    counts: Counter[str | None] = Counter()
    for item in items:
        author = item.prediction.user
        counts[author] += 1
        if counts[author] <= limit:
            kept.append(item)
    return kept


def send_once(
    db: Database,
    task: str,
    period: str,
    users: Iterable[str],
    owner: str,
    send: Callable[[str], str],
) -> int:
    """DM each of ``users`` at most once per ``task`` and ``period`` whichever replica runs
    this: claim the DM in the database, ``send(user)`` (its outcome: ``sent …`` or
    ``failed: …``), store the outcome. How many were sent."""
    claimed = db.queue.claimed_digests(task, period)
    sent = 0
    for user in users:
        if user in claimed or not db.queue.claim_digest(task, period, user, owner):
            continue
        outcome = send(user)
        db.queue.finish_digest(task, period, user, outcome)
        sent += outcome.startswith("sent")
    return sent


@dataclass(eq=False)
class QueueDigest(Ticker):
    """Sends the digests of one replica (a daemon thread; :meth:`tick` does one round)."""

    thread_name = "heed-digest"
    services: Services
    client: WebClient
    owner: str = field(kw_only=True)
    clock: Callable[[], datetime] = field(kw_only=True, default=lambda: datetime.now(UTC))
    _done: dict[str, str] = field(default_factory=dict, init=False)  # task -> period done here

    def __post_init__(self) -> None:
        super().__init__()
        self.schedule = self.services.settings.queue_digest

    def recipients(self, task: str) -> list[str]:
        """Every labeler (a group that cannot be listed is skipped) and admin listed for
        ``task``."""
        labelers = self.services.labelers_for(task)
        users = set(labelers.users) | set(self.services.admin_for(task).admins)
        for group in labelers.groups:
            try:
                users.update(usergroup_members(self.client, group))
            except RuntimeError as exc:
                log.warning("digest: cannot list user group %s: %s", group, exc)
        return sorted(users)

    def tick(self) -> int:
        """One round: send this period's digests nobody has claimed yet; how many were sent."""
        period = self.schedule.period(self.clock())
        if period is None:
            return 0
        db = self.services.db
        sent = 0
        for task in self.services.settings.tasks.names:
            if self._done.get(task) == period:
                continue
            candidates = db.queue.top(task, CANDIDATES, self.services.settings.queue_days)
            items = few_per_author(candidates)[:QUEUE_SHOWN]
            if not items:
                continue  # nothing to send yet; look again next tick
            recipients = self.recipients(task)
            send = partial(self._send, task, items=items)
            sent += send_once(db, task, period, recipients, self.owner, send)
            self._done[task] = period
        return sent

    def _send(self, task: str, user: str, *, items: list[QueuedItem]) -> str:
        text, blocks = queue_message(task, items, digest=True)
        try:
            dm = self.client.conversations_open(users=user)["channel"]["id"]
            posted = self.client.chat_postMessage(
                channel=dm, text=text, blocks=blocks, unfurl_links=False
            )
        except (SlackApiError, OSError) as exc:
            why = (isinstance(exc, SlackApiError) and api_error(exc)) or type(exc).__name__
            log.warning("digest of %s for %s not sent: %s", task, user, why)
            return f"failed: {why}"
        try:  # so forget can delete it: it quotes people's texts
            ids = [item.prediction.id for item in items]
            self.services.db.forgetting.remember_post(posted["channel"], posted["ts"], ids)
        except Exception as exc:
            why = failure_line(exc)
            log.error("digest of %s for %s sent but not remembered: %s", task, user, why)
        log.info("digest of %s sent to %s (%d items)", task, user, len(items))
        return f"sent {len(items)}"

    def start(self) -> None:
        """Tick now and then a few times per period until :meth:`stop` (not when off)."""
        if not self.schedule.off:
            super().start()

    def wait_s(self) -> float:
        """A few ticks per period, so a period's digest goes out soon after it begins."""
        return self.schedule.tick_s()
