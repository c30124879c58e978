"""The work behind ``/heed-admin``: who may, the audit log, and the subcommands.

:func:`admin_job` decides whether the user is an admin (:class:`bot.access.AdminCheck`), writes
the attempt to the audit log — every attempt, allowed or refused, with the reason — and runs the
subcommand. Answers go to the admin only (ephemeral, through the command's ``response_url``),
except what the channel should see: a rollback, and a retrain's status message and evaluation
(:mod:`bot.retrain.commands`).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.blocks.admin import (
    MAX_VERSIONS_SHOWN,
    NO_DATABASE,
    NO_LABELLED_ROWS,
    admin_usage,
    export_comment,
    export_jsonl_comment,
    export_sent,
    forgotten_line,
    promoted_line,
    refusal,
    rolled_back,
    status_blocks,
    versions_lines,
)
from bot.blocks.common import one_line, sections
from bot.blocks.preview import NO_JOB_TO_CANCEL, PREVIEW_CANCELLED, START_ACTION
from bot.blocks.queue import QUEUE_ACTION
from bot.database.exports import write_jsonl, write_people_csv
from bot.handlers.admin_request import AdminRequest
from bot.handlers.queue import queue_command
from bot.retention import retention_for
from bot.retrain.commands import do_retrain, start_retrain
from bot.services import Services
from bot.serving.holder import ModelHolder
from bot.slack_api.lookups import users_info
from bot.slack_api.uploads import upload_or_say_why
from classifier.store import (
    VERSION_PATTERN,
    HistoryError,
    ModelNotFoundError,
    ModelStore,
    StoreError,
)

log = logging.getLogger(__name__)

RECENT_JOBS = 5

Handler = Callable[[AdminRequest], None]


TASK_ACTIONS = frozenset(
    {"status", "retrain", "cancel", "versions", "promote", "rollback", "export", "queue"}
)
"""Subcommands that take an optional task name first (``/heed-admin versions support``)."""


def split_task(services: Services, action: str, rest: str) -> tuple[str, str, str | None]:
    """``(task, rest, error)``: the task named first in ``rest`` (the default task when none
    is), the arguments after it, and a one-line error for a word that names no task."""
    tasks = services.settings.tasks
    words = rest.split(None, 1)
    if action not in TASK_ACTIONS or not words:
        return tasks.default_name, rest, None
    first = words[0].lower()
    if first in tasks.by_name:
        return first, words[1].strip() if len(words) > 1 else "", None
    if action == "promote" and len(words) == 1:  # `promote VERSION`: do_promote checks it
        return tasks.default_name, rest, None
    error = f"unknown task '{one_line(words[0], 40)}': use one of {', '.join(tasks.names)}"
    return tasks.default_name, rest, error


def _store(request: AdminRequest) -> ModelStore:
    return request.services.store_of(request.task)


def _loaded(request: AdminRequest) -> ModelHolder | None:
    """The request's task's holder, loaded now if it can be; None when it has no model."""
    try:
        return request.services.holder_of(request.task)
    except Exception as exc:
        log.info("task %s has no model to serve: %s", request.task, exc)
        return None


def _serving(request: AdminRequest) -> str | None:
    holder = _loaded(request)
    return holder.version if holder is not None else None


def _metadata(store: ModelStore, version: str | None) -> dict[str, Any]:
    if not version:
        return {}
    try:
        return store.metadata(version)
    except Exception as exc:  # a missing/broken heed.json is not worth a failed command
        log.warning("cannot read heed.json of %s: %s", version, exc)
        return {}


def do_help(request: AdminRequest) -> None:
    """The subcommands, privately."""
    request.private(admin_usage())


def do_status(request: AdminRequest) -> None:
    """The serving model, the running job, the last jobs and the feedback counts."""
    services = request.services
    version = _serving(request)
    db, runner, task = services.db, services.runner(request.task), services.task(request.task)
    text, status = status_blocks(
        version,
        _metadata(_store(request), version),
        current=runner.running() if runner else None,
        jobs=db.jobs.recent(RECENT_JOBS + 1, task.name) if db else [],
        counts=db.predictions.counts(task.name) if db else None,
        train_data=[str(p) for p in task.train_data],
        task=task.name if len(services.settings.tasks) > 1 else None,
    )
    request.private(text, status)


def do_rollback(request: AdminRequest) -> None:
    """Serve the task's previously promoted version again, and say so in the channel."""
    store = _store(request)
    serving = _serving(request)
    try:
        previous, target = store.rollback()
    except HistoryError as exc:
        request.private(f":warning: Cannot roll back: {exc}. Still serving `{serving}`.")
        return
    except StoreError:
        request.private(
            f":information_source: Nothing to roll back to: `{store.current()}` is the "
            "earliest version in the promotion history."
        )
        return
    except ModelNotFoundError as exc:
        request.private(f":warning: Cannot roll back: {exc}; still serving `{serving}`.")
        return
    holder = _loaded(request)
    if holder is not None:
        holder.reload()  # swap now; the watcher would only notice within a few seconds
    log.info("rolled back %s from %s to %s by %s", request.task, previous, target, request.user)
    request.respond(
        text=rolled_back(previous, target, holder.version if holder else None),
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
    labelled = db.predictions.labelled_rows(request.task)
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
            request.services.metrics.upload_failures.inc()
            return
    request.private(export_sent(rows))


def do_cancel(request: AdminRequest) -> None:
    """Stop the running retrain (status ``cancelled``): this replica's child at once, another
    replica's at its next lease renewal."""
    runner = request.services.runner(request.task)
    running = runner.running() if runner is not None else None
    if runner is None or running is None:
        request.private(NO_JOB_TO_CANCEL)
        return
    if not runner.cancel() and not runner.cancel_elsewhere(running.id, request.user):
        request.private(NO_JOB_TO_CANCEL)
        return
    where = f" on replica `{running.owner}`" if running.owner else ""
    request.private(
        f":octagonal_sign: Stopping retraining job #{running.id}{where}; the serving model stays."
    )


def do_versions(request: AdminRequest) -> None:
    """The model versions in the store, newest first."""
    store = _store(request)
    versions = store.versions()
    metadata = {v: _metadata(store, v) for v in versions[-MAX_VERSIONS_SHOWN:]}
    lines = versions_lines(versions, store.current(), metadata)
    request.private(lines[0], sections(lines))


def do_promote(request: AdminRequest) -> None:
    """Serve the version named in the arguments (of the task named first, else the default
    task's), and say so in the channel."""
    version = request.rest.split()[0] if request.rest.split() else ""
    if not VERSION_PATTERN.fullmatch(version):
        request.private(admin_usage("promote needs a version like 20261127-190000-a1b2c3"))
        return
    try:
        _store(request).promote(version)
    except (ModelNotFoundError, StoreError) as exc:
        request.private(f":warning: Cannot promote: {exc}. Still serving `{_serving(request)}`.")
        return
    holder = _loaded(request)
    if holder is not None:
        holder.reload()
    log.info("promoted %s of %s by %s", version, request.task, request.user)
    request.respond(
        text=promoted_line(version, holder.version if holder else None),
        response_type="in_channel",
        replace_original=False,
    )


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]+)")


def do_forget(request: AdminRequest) -> None:
    """Delete a person's texts and answers: the database rows and the kept exports' lines."""
    services = request.services
    match = _MENTION.fullmatch(request.rest.strip())
    if match is None:
        request.private(admin_usage("forget needs one person: `/heed-admin forget @user`"))
        return
    if services.db is None:
        request.private(NO_DATABASE.format(action="forget"))
        return
    user = match.group(1) or match.group(2)
    gone = services.db.predictions.forget(user)
    lines = retention_for(services.settings, services.db, _store(request)).forget_in_exports(
        gone.texts
    )
    log.info(
        "forgot %s for %s: %d predictions, %d answers, %d export lines",
        user,
        request.user,
        gone.predictions,
        gone.answers,
        lines,
    )
    request.private(forgotten_line(user, gone.predictions, gone.answers, lines))


HANDLERS: dict[str, Handler] = {
    "help": do_help,
    "status": do_status,
    "retrain": do_retrain,
    "cancel": do_cancel,
    "versions": do_versions,
    "promote": do_promote,
    "rollback": do_rollback,
    "export": do_export,
    "forget": do_forget,
}


def checked_request(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    action: str,
    rest: str,
    known: bool = True,
    task: str | None = None,
) -> AdminRequest | None:
    """Decide whether the user is an admin and audit the attempt (allowed or not, with the
    task it acts on); the request when allowed, else None after telling the user why."""
    task = services.task(task).name
    request = AdminRequest(services, client, respond, command, rest, task)
    user = request.user
    assert services.admin is not None
    decision = services.admin.check(user, lambda u: users_info(client, u))
    detail = f"{decision.reason}; channel {command.get('channel_id')}; task {task}"
    if rest:
        detail += f"; arguments {one_line(rest, 200)!r}"
    if not known:
        detail += "; unknown subcommand"
    if services.db is not None:
        try:
            services.db.audit.record(user, action, decision.allowed, detail)
        except Exception:
            log.exception("cannot write the audit log; refusing %s by %s", action, user)
            request.private(":warning: Heed couldn't write its audit log, so it did nothing.")
            return None
    log.info(
        "/heed-admin %s by %s: %s (%s)",
        action,
        user,
        "allowed" if decision.allowed else "refused",
        decision.reason,
    )
    if not decision.allowed:
        request.private(refusal(decision.reason))
        return None
    return request


def admin_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    action: str,
    rest: str,
    home_team: str | None = None,
) -> None:
    """Check, audit, then run one ``/heed-admin`` subcommand (on the task named first in its
    arguments, else the default task). ``queue`` is for labelers too
    (:func:`bot.handlers.queue.queue_command`, with ``home_team``, the installing workspace)."""
    task, rest, error = split_task(services, action, rest)
    if action == QUEUE_ACTION:
        queue_command(services, client, respond, command, task, error, home_team)
        return
    request = checked_request(
        services, client, respond, command, action, rest, known=action in HANDLERS, task=task
    )
    if request is None:
        return
    handler = HANDLERS.get(action)
    if handler is None:
        request.private(admin_usage(f"unknown subcommand '{action}'"))
        return
    if error is not None:
        request.private(admin_usage(error))
        return
    handler(request)


def retrain_button_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    body: dict[str, Any],
    action: dict[str, Any],
    home_team: str | None,
) -> None:
    """The preview's Start or Cancel button: check and audit like ``/heed-admin retrain``,
    then start the job (reported in the preview's channel) or drop the preview."""
    who = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    command = {"user_id": who.get("id"), "channel_id": channel}
    start = action.get("action_id") == START_ACTION
    what = "start (preview button)" if start else "cancel (preview button)"
    if not home_team or who.get("team_id") != home_team:
        reason = f"not a member of the installing workspace (team {who.get('team_id')})"
        if services.db is not None:
            services.db.audit.record(who.get("id"), "retrain", False, f"{reason}; {what}")
        respond(text=refusal(reason), response_type="ephemeral", replace_original=False)
        return
    value = str(action.get("value") or "")
    task = value if value in services.settings.tasks.by_name else None
    known = task is not None or value == "none" or bool(VERSION_PATTERN.fullmatch(value))
    request = checked_request(services, client, respond, command, "retrain", what, task=task)
    if request is None:
        return
    if start and not known:  # not a preview Heed made: start nothing
        respond(text=admin_usage("that button names no task here"), replace_original=False)
        return
    if not start:
        respond(text=PREVIEW_CANCELLED, replace_original=True)
        return
    respond(text=":arrows_counterclockwise: Starting the retrain…", replace_original=True)
    start_retrain(request)
