"""The work behind ``/heed-admin``: who may, the audit log, and the subcommands.

:func:`admin_job` decides whether the user is an admin (:class:`bot.access.AdminCheck`), writes
the attempt to the audit log — every attempt, allowed or refused, with the reason — and runs the
subcommand. Answers go to the admin only (ephemeral, through the command's ``response_url``),
except what the channel should see: a rollback, and a retrain's status message and evaluation
(:mod:`bot.handlers.retrain`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.blocks.admin import (
    NO_DATABASE,
    NO_LABELLED_ROWS,
    admin_usage,
    export_comment,
    export_jsonl_comment,
    export_sent,
    refusal,
    rolled_back,
    status_blocks,
)
from bot.blocks.common import one_line
from bot.database.exports import write_jsonl, write_people_csv
from bot.handlers.admin_request import AdminRequest
from bot.handlers.retrain import do_retrain
from bot.services import Services
from bot.slack_api.lookups import users_info
from bot.slack_api.uploads import upload_or_say_why
from classifier.store import HistoryError, ModelNotFoundError, StoreError

log = logging.getLogger(__name__)

RECENT_JOBS = 5

Handler = Callable[[AdminRequest], None]


def _metadata(services: Services, version: str | None) -> dict[str, Any]:
    if not version:
        return {}
    try:
        return services.holder.store.metadata(version)
    except Exception as exc:  # a missing/broken heed.json is not worth a failed command
        log.warning("cannot read heed.json of %s: %s", version, exc)
        return {}


def do_help(request: AdminRequest) -> None:
    """The subcommands, privately."""
    request.private(admin_usage())


def do_status(request: AdminRequest) -> None:
    """The serving model, the running job, the last jobs and the feedback counts."""
    services = request.services
    version = services.holder.version
    db = services.db
    text, status = status_blocks(
        version,
        _metadata(services, version),
        current=services.retrain.running() if services.retrain else None,
        jobs=db.jobs.recent(RECENT_JOBS + 1) if db else [],
        counts=db.predictions.counts() if db else None,
        train_data=[str(p) for p in services.settings.train_data],
    )
    request.private(text, status)


def do_rollback(request: AdminRequest) -> None:
    """Serve the previously promoted version again, and say so in the channel."""
    holder = request.services.holder
    try:
        previous, target = holder.store.rollback()
    except HistoryError as exc:
        request.private(f":warning: Cannot roll back: {exc}. Still serving `{holder.version}`.")
        return
    except StoreError:
        request.private(
            f":information_source: Nothing to roll back to: `{holder.store.current()}` is the "
            "earliest version in the promotion history."
        )
        return
    except ModelNotFoundError as exc:
        request.private(f":warning: Cannot roll back: {exc}; still serving `{holder.version}`.")
        return
    holder.reload()  # swap now; the watcher would only notice within a few seconds
    log.info("rolled back from %s to %s by %s", previous, target, request.user)
    request.respond(
        text=rolled_back(previous, target, holder.version),
        response_type="in_channel",
        replace_original=False,
    )


def do_export(request: AdminRequest) -> None:
    """The labelled rows by DM: a CSV to read (formula cells neutralised) and a JSONL file
    with the exact texts to train on."""
    db = request.services.db
    if db is None:
        request.private(NO_DATABASE.format(action="export"))
        return
    labelled = db.predictions.labelled_rows()
    if not labelled:
        request.private(NO_LABELLED_ROWS)
        return
    people, training = io.StringIO(newline=""), io.StringIO(newline="")
    rows = write_people_csv(people, labelled)
    write_jsonl(training, labelled)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    dm = request.client.conversations_open(users=request.user)["channel"]["id"]
    files = (
        (people, "csv", "CSV", export_comment(rows)),
        (training, "jsonl", "JSONL", export_jsonl_comment(rows)),
    )
    for buffer, extension, what, comment in files:
        sent = upload_or_say_why(
            request.client,
            channel=dm,
            thread_ts=None,
            content=buffer.getvalue().encode("utf-8"),
            filename=f"heed-labelled-rows-{stamp}.{extension}",
            title=f"Heed labelled rows ({rows}, {what})",
            comment=comment,
            what=what,
            tell=request.private,
        )
        if not sent:
            return
    request.private(export_sent(rows))


HANDLERS: dict[str, Handler] = {
    "help": do_help,
    "status": do_status,
    "retrain": do_retrain,
    "rollback": do_rollback,
    "export": do_export,
}


def admin_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    action: str,
    rest: str,
) -> None:
    """Check, audit, then run one ``/heed-admin`` subcommand."""
    request = AdminRequest(services, client, respond, command, rest)
    user = request.user
    assert services.admin is not None
    decision = services.admin.check(user, lambda u: users_info(client, u))
    detail = f"{decision.reason}; channel {command.get('channel_id')}"
    if rest:
        detail += f"; arguments {one_line(rest, 200)!r}"
    if action not in HANDLERS:
        detail += "; unknown subcommand"
    if services.db is not None:
        try:
            services.db.audit.record(user, action, decision.allowed, detail)
        except Exception:
            log.exception("cannot write the audit log; refusing %s by %s", action, user)
            request.private(":warning: Heed couldn't write its audit log, so it did nothing.")
            return
    log.info(
        "/heed-admin %s by %s: %s (%s)",
        action,
        user,
        "allowed" if decision.allowed else "refused",
        decision.reason,
    )
    if not decision.allowed:
        request.private(refusal(decision.reason))
        return
    handler = HANDLERS.get(action)
    if handler is None:
        request.private(admin_usage(f"unknown subcommand '{action}'"))
        return
    handler(request)
