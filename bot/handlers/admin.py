"""``/heed-admin``: check and audit every attempt, then run the subcommand. Answers are
private, except what the channel should see (a promote, a rollback, a retrain's progress)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from bot.agreement import agreement
from bot.blocks.admin import (
    MAX_VERSIONS_SHOWN,
    NO_LABELLED_ROWS,
    admin_usage,
    export_messages,
    promoted_line,
    refusal,
    rolled_back,
    status_blocks,
    versions_lines,
)
from bot.blocks.agreement import AGREEMENT_ACTION, agreement_lines
from bot.blocks.classify import unknown_task_error
from bot.blocks.common import one_line, sections
from bot.blocks.drift import PREVIEW_ACTION
from bot.blocks.feedback import NOT_A_LABELER, QUEUE_ACTION, QUEUE_SHOWN, queue_message
from bot.blocks.shadow import PROMOTE_ACTION, SHADOW_COMMAND, STOP_ACTION, shadow_stopped
from bot.blocks.suspects import NOT_REVIEWER, SUSPECTS_ACTION
from bot.database.exports import write_jsonl, write_people_csv
from bot.handlers.checks import audited, may_administer, may_label
from bot.handlers.dry_run import DRY_RUN, do_dry_run
from bot.handlers.forget import do_forget, mentioned_ids
from bot.handlers.home import model_metadata
from bot.handlers.shadow import do_shadow
from bot.handlers.suspects import do_suspects
from bot.retrain.commands import do_retrain, start_retrain
from bot.retrain.messages import (
    CANCEL_ACTION,
    NO_JOB_TO_CANCEL,
    PREVIEW_CANCELLED,
    SHADOW_START_ACTION,
    START_ACTION,
)
from bot.services import Request
from bot.serving.holder import ModelHolder
from bot.slack_api.uploads import upload_or_say_why
from classifier.store import (
    VERSION_PATTERN,
    HistoryError,
    ModelNotFoundError,
    ModelStore,
    StoreError,
)

log = logging.getLogger(__name__)

ADMIN = "/heed-admin"
SHADOW_BUTTONS = re.compile(f"^({re.escape(PROMOTE_ACTION)}|{re.escape(STOP_ACTION)})$")
RETRAIN_BUTTONS = re.compile(
    "^({})$".format(
        "|".join(map(re.escape, (START_ACTION, SHADOW_START_ACTION, CANCEL_ACTION, PREVIEW_ACTION)))
    )
)


def parse_admin(text: str | None) -> tuple[str, str]:
    """``" Retrain  now"`` -> ``("retrain", "now")``; empty text is ``help``. The subcommand
    is lower-cased and cut to 40 characters (it goes into the audit log)."""
    words = (text or "").strip().split(None, 1) or ["help"]
    action = words[0].lower()[:40]
    if action in ("-h", "--help"):
        action = "help"
    return action, words[1].strip() if len(words) > 1 else ""


def accept_admin(request: Request) -> Request:
    """The ack step: the subcommand and its arguments."""
    action, rest = parse_admin(request.body.get("text"))
    return replace(request, subcommand=action, text=rest)


def split_task(request: Request) -> tuple[str, str, str | None]:
    """``(task, rest, error)``: the task named first in the arguments (the default task when
    none is), the arguments after it, and a one-line error for a word that names no task."""
    action, rest = request.subcommand, request.text
    tasks = request.services.settings.tasks
    if action == SHADOW_COMMAND:  # `shadow [VERSION|stop] [TASK]`: the task may come last
        words = rest.split()
        named = [w for w in words if w.lower() in tasks.by_name][:1]
        others = " ".join(w for w in words if w not in named)
        return (named[0].lower() if named else tasks.default_name), others, None
    words = rest.split(None, 1)
    if action not in TASK_ACTIONS or not words:
        return tasks.default_name, rest, None
    first = words[0].lower()
    if first in tasks.by_name:
        return first, words[1].strip() if len(words) > 1 else "", None
    if action == "promote" and len(words) == 1:  # `promote VERSION`: do_promote checks it
        return tasks.default_name, rest, None
    return tasks.default_name, rest, unknown_task_error(words[0], tasks.names)


def _store(request: Request) -> ModelStore:
    return request.services.models.store(request.task.name)


def _loaded(request: Request) -> ModelHolder | None:
    """The request's task's holder, loaded now if it can be; None when it has no model."""
    try:
        return request.services.models.holder(request.task.name)
    except Exception as exc:
        log.info("task %s has no model to serve: %s", request.task.name, exc)
        return None


def _serving(request: Request) -> str | None:
    holder = _loaded(request)
    return holder.version if holder is not None else None


def _swapped(request: Request, say: Callable[[str | None], str]) -> None:
    """Serve a promoted or rolled-back version now (the watcher would only notice within a few
    seconds) and say ``say(serving version)`` in the channel."""
    holder = _loaded(request)
    if holder is not None:
        holder.reload()
    request.respond(
        text=say(holder.version if holder else None),
        response_type="in_channel",
        replace_original=False,
    )


def do_status(request: Request) -> None:
    """The serving model, the running job, the last jobs and the feedback counts."""
    services, task = request.services, request.task
    version = _serving(request)
    db = services.db
    text, status = status_blocks(
        version,
        model_metadata(_store(request), version),
        current=services.runners[task.name].running(),
        jobs=db.jobs.recent(6, task.name),  # the last five and the running one
        counts=db.predictions.counts(task.name),
        train_data=[str(p) for p in task.train_data],
        task=task.name if len(services.settings.tasks) > 1 else None,
    )
    request.private(text, status)


def do_rollback(request: Request) -> None:
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
    log.info(
        "rolled back %s from %s to %s by %s", request.task.name, previous, target, request.user
    )
    _swapped(request, lambda now: rolled_back(previous, target, now))


def do_export(request: Request) -> None:
    """The labelled rows by DM: a CSV to read (formula cells neutralised) and a JSONL file
    with the exact texts to train on."""
    labelled = request.services.db.predictions.labelled_rows(request.task.name)
    if not labelled:
        request.private(NO_LABELLED_ROWS)
        return
    people, training = io.StringIO(newline=""), io.StringIO(newline="")
    rows = write_people_csv(people, labelled)
    write_jsonl(training, labelled)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    dm = request.client.conversations_open(users=request.user)["channel"]["id"]
    csv_comment, jsonl_comment, sent_note = export_messages(rows)
    files = ((people, "csv", "CSV", csv_comment), (training, "jsonl", "JSONL", jsonl_comment))
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
    request.private(sent_note)


def do_cancel(request: Request) -> None:
    """Stop the running retrain (status ``cancelled``): this replica's child at once, another
    replica's at its next lease renewal."""
    runner = request.services.runners[request.task.name]
    running = runner.running()
    if running is None or not (
        runner.cancel() or runner.cancel_elsewhere(running.id, request.user)
    ):
        request.private(NO_JOB_TO_CANCEL)
        return
    where = f" on replica `{running.owner}`" if running.owner else ""
    request.private(
        f":octagonal_sign: Stopping retraining job #{running.id}{where}; the serving model stays."
    )


def do_versions(request: Request) -> None:
    """The model versions in the store, newest first."""
    store = _store(request)
    versions = store.versions()
    metadata = {v: model_metadata(store, v) for v in versions[-MAX_VERSIONS_SHOWN:]}
    lines = versions_lines(versions, store.current(), metadata)
    request.private(lines[0], sections(lines))


def do_promote(request: Request) -> None:
    """Serve the version named in the arguments, and say so in the channel."""
    version = request.text.split()[0] if request.text.split() else ""
    if not VERSION_PATTERN.fullmatch(version):
        request.private(admin_usage("promote needs a version like 20261127-190000-a1b2c3"))
        return
    try:
        _store(request).promote(version)
    except (ModelNotFoundError, StoreError) as exc:
        request.private(f":warning: Cannot promote: {exc}. Still serving `{_serving(request)}`.")
        return
    log.info("promoted %s of %s by %s", version, request.task.name, request.user)
    _swapped(request, lambda now: promoted_line(version, now))


def do_queue(request: Request) -> None:
    """The task's labelling queue (suggestions and appeals first, then the most uncertain),
    each item with label controls."""
    services, task = request.services, request.task.name
    days = services.settings.queue_days
    items = services.db.queue.top(task, QUEUE_SHOWN, days, viewer=request.user)
    request.private(*queue_message(task, items))


def do_agreement(request: Request) -> None:
    """How far the task's labelers agree on the messages two or more of them answered."""
    task = request.task.name
    found = agreement(request.services.db.predictions.trusted_ratings(task))
    request.private(f"Labeler agreement for {task}", sections(agreement_lines(task, found)))


HANDLERS: dict[str, Callable[[Request], None]] = {
    "help": lambda request: request.private(admin_usage()),
    "status": do_status,
    "retrain": do_retrain,
    "cancel": do_cancel,
    "versions": do_versions,
    "promote": do_promote,
    "rollback": do_rollback,
    "export": do_export,
    "forget": do_forget,
    QUEUE_ACTION: do_queue,
    SHADOW_COMMAND: do_shadow,
    DRY_RUN: do_dry_run,
    AGREEMENT_ACTION: do_agreement,
    SUSPECTS_ACTION: do_suspects,
}
# The subcommands that take an optional task name first (`/heed-admin versions support`);
# dry-run parses its own arguments (the task after the channel).
TASK_ACTIONS = HANDLERS.keys() - {"help", "forget", DRY_RUN}


def admitted(request: Request, action: str, known: bool = True) -> bool:
    """Audit the attempt (allowed or not, with the task it acts on) and tell a refused user
    why; True when the user is an admin or, for ``queue`` and ``suspects`` (people's
    messages, training rows), may label."""
    queue = action in (QUEUE_ACTION, SUSPECTS_ACTION)  # people's texts: labelers may see
    decision = may_label(request, None) if queue else may_administer(request)
    detail = f"{decision.reason}; channel {request.channel or None}; task {request.task.name}"
    if request.text:
        detail += f"; arguments {one_line(mentioned_ids(request.text), 200)!r}"
    if not known:
        detail += "; unknown subcommand"
    if not audited(request, action, decision.allowed, detail):
        return False
    verdict = "allowed" if decision.allowed else "refused"
    log.info("/heed-admin %s by %s: %s (%s)", action, request.user, verdict, decision.reason)
    if not decision.allowed:
        refused = {QUEUE_ACTION: NOT_A_LABELER, SUSPECTS_ACTION: NOT_REVIEWER}
        request.private(refused.get(action) or refusal(decision.reason))
    return decision.allowed


def admin_job(request: Request) -> None:
    """Check, audit, then run one ``/heed-admin`` subcommand on the task it names."""
    task, rest, error = split_task(request)
    action = request.subcommand
    request = replace(request, task=request.services.settings.tasks.by_name[task], text=rest)
    handler = HANDLERS.get(action)
    if not admitted(request, action, known=handler is not None):
        return
    if handler is None:
        request.private(admin_usage(f"unknown subcommand '{action}'"))
    elif error is not None:
        request.private(admin_usage(error))
    else:
        handler(request)


def retrain_button_job(request: Request) -> None:
    """The preview's Start or Cancel button, or a drift alert's "Preview a retrain": check and
    audit like ``/heed-admin retrain``, then start the job (reported in the preview's
    channel), drop the preview, or show the task's preview."""
    services, action, respond = request.services, request.action, request.respond
    assert respond is not None
    shadow = action.get("action_id") == SHADOW_START_ACTION
    start = action.get("action_id") == START_ACTION or shadow
    preview = action.get("action_id") == PREVIEW_ACTION
    what = "preview (drift alert button)" if preview else None
    what = what or ("start as shadow (preview button)" if shadow else None)
    what = what or ("start (preview button)" if start else "cancel (preview button)")
    if not request.team or request.user_team != request.team:
        reason = f"not a member of the installing workspace (team {request.user_team})"
        if audited(request, "retrain", False, f"{reason}; {what}"):
            request.private(refusal(reason))
        return
    value = str(action.get("value") or "")
    task = services.settings.tasks.by_name.get(value)
    known = task is not None or value == "none" or bool(VERSION_PATTERN.fullmatch(value))
    request = replace(request, task=task or services.settings.tasks.default, text=what)
    if not admitted(request, "retrain"):
        return
    if preview:
        if task is None:  # not an alert Heed made: show nothing
            respond(text=admin_usage("that button names no task here"), replace_original=False)
        else:
            do_retrain(request)
        return
    if start and not known:  # not a preview Heed made: start nothing
        respond(text=admin_usage("that button names no task here"), replace_original=False)
        return
    if not start:
        respond(text=PREVIEW_CANCELLED, replace_original=True)
        return
    respond(text=":arrows_counterclockwise: Starting the retrain…", replace_original=True)
    start_retrain(request, as_shadow=shadow)


def shadow_button_job(request: Request) -> None:
    """The report's Promote or Stop: check and audit like ``/heed-admin shadow``; act only
    while the version the report showed still shadows its task."""
    services, action, respond = request.services, request.action, request.respond
    assert respond is not None
    promote = action.get("action_id") == PROMOTE_ACTION
    what = "promote (shadow report)" if promote else "stop (shadow report)"
    if not request.team or request.user_team != request.team:
        reason = f"not a member of the installing workspace (team {request.user_team})"
        if audited(request, "shadow", False, f"{reason}; {what}"):
            request.private(refusal(reason))
        return
    name, _, version = str(action.get("value") or "").partition("|")
    task = services.settings.tasks.by_name.get(name)
    request = replace(request, task=task or services.settings.tasks.default, text=what)
    if not admitted(request, "shadow"):
        return
    current = services.db.shadows.current(name) if task is not None else None
    if current is None or current.version != version:
        respond(text=":warning: That shadow is no longer running.", replace_original=False)
        return
    if promote:
        do_promote(replace(request, text=version))
    services.db.shadows.stop(name, version)
    services.shadows.forget_lookup(name)
    respond(text=shadow_stopped(name, version), replace_original=False)
