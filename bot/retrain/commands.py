"""``/heed-admin retrain``: the preview of what would go in, and its Start, which starts the job."""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.agreement import agreement
from bot.blocks.admin import NOTHING_TO_TRAIN, already_running
from bot.blocks.common import one_line
from bot.blocks.shadow import shadow_started
from bot.database import Database
from bot.database.exports import write_jsonl, write_private
from bot.database.schema import FEEDBACK_SOURCES
from bot.retrain.jobs import JobAlreadyRunning, JobResult, Preview, RetrainError
from bot.retrain.messages import IN_DM_NOTE, preview_blocks, retrain_started
from bot.retrain.reporter import RetrainReporter
from bot.retrain.runner import (
    CORRECTIONS_FILENAME,
    NO_TRUSTED_EVAL,
    RetrainRunner,
    export_reviewed,
)
from bot.retrain.suspects import last_suspects_count
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from classifier.exports import DataError, Problem

log = logging.getLogger(__name__)


def _since(serving_created: str | None) -> str | None:
    """A model's ``created`` (heed.json) as a stored time, for comparing with answers."""
    try:
        moment = datetime.fromisoformat(serving_created or "")
    except (TypeError, ValueError):  # heed.json is read as it is: absent, or not a time
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def build_preview(
    runner: RetrainRunner, db: Database, serving: str | None, serving_created: str | None
) -> Preview:
    """Check the exports and the corrections as the runner would pass them, and count (in the
    database) what came in from feedback since the serving model was made."""
    labelled = db.predictions.labelled_rows(runner.task, sources=FEEDBACK_SOURCES)
    new_labels, new_by = db.predictions.answered_since(runner.task, _since(serving_created))
    base = {
        "serving": serving,
        "task": runner.task,
        "corrections": len(labelled),
        "new_labels": dict(sorted(new_labels.items())),
        "new_by": dict(sorted(new_by.items(), key=lambda item: (-item[1], item[0]))),
        "held": db.predictions.counts(runner.task)["held"],
        "low_agreement": tuple(agreement(db.predictions.trusted_ratings(runner.task)).low_labels()),
        "suspects_found": last_suspects_count(db, runner.task),
    }
    with tempfile.TemporaryDirectory(prefix="heed-preview-") as workdir:
        corrections = Path(workdir) / CORRECTIONS_FILENAME if labelled else None
        if corrections is not None:
            write_private(corrections, lambda handle: write_jsonl(handle, labelled))
        overrides = export_reviewed(db, runner.task, Path(workdir))
        try:
            report = runner.request(corrections, overrides=overrides).check()
        except DataError as exc:
            named = {str(corrections): "corrections", str(overrides): "reviewed suspects"}
            problems = [Problem(named.get(p.file, p.file), p.line, p.reason) for p in exc.problems]
            return Preview(**base, problems=tuple(problems))
    return Preview(**base, report=report)


def _status_message(request: Request) -> tuple[str, str]:
    """Post the status message in the invoking channel, else in the admin's DM."""
    client = request.client
    text = retrain_started(request.user)
    try:
        posted = client.chat_postMessage(channel=request.channel, text=text)
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        dm = client.conversations_open(users=request.user)["channel"]["id"]
        posted = client.chat_postMessage(channel=dm, text=text)
        request.private(IN_DM_NOTE)
    return str(posted["channel"]), str(posted["ts"])


def _refused(request: Request) -> bool:
    """Tell the admin why a retrain of the request's task cannot start now, if it cannot."""
    runner, db = request.services.runners[request.task.name], request.services.db
    running = runner.running()
    if running is not None:
        request.private(already_running(running))
    elif not runner.data_files and not db.predictions.counts(request.task.name)["labelled_rows"]:
        request.private(NOTHING_TO_TRAIN)
    elif not runner.data_files and not runner.eval_files:
        request.private(f":warning: Not retraining: {NO_TRUSTED_EVAL}.")
    else:
        return False
    return True


def do_retrain(request: Request) -> None:
    """Show the admin what a retrain would go in with; the job starts only from its Start."""
    if _refused(request):
        return
    services = request.services
    runner = services.runners[request.task.name]
    store = services.models.store(request.task.name)
    version = store.current()
    created = None
    if version:
        try:
            created = store.metadata(version).get("created")
        except Exception as exc:  # a missing heed.json only loses the "since" split
            log.warning("cannot read heed.json of %s: %s", version, exc)
    request.private(*preview_blocks(build_preview(runner, services.db, version, created)))


def start_retrain(request: Request, *, as_shadow: bool = False) -> None:
    """Start a retraining job (one per task) and report it where the admin asked; ``as_shadow``:
    the new version is never promoted but shadows the serving one (``/heed-admin shadow``)."""
    if _refused(request):
        return
    services = request.services
    runner = services.runners[request.task.name]
    channel, ts = _status_message(request)
    reporter = RetrainReporter(
        services, request.client, channel, ts, request.user, request.task.name
    )
    on_done = reporter.on_done
    if as_shadow:
        on_done = partial(_shadow_then_report, request, reporter)
    try:
        job = runner.start(
            request.user,
            reporter.on_progress,
            on_done,
            channel=channel,
            message_ts=ts,
            promote=not as_shadow,
        )
    except JobAlreadyRunning as exc:
        reporter.final(already_running(exc.job))
        return
    except RetrainError as exc:
        reporter.final(f":x: {one_line(str(exc))}")
        return
    reporter.started(job)


def _shadow_then_report(request: Request, reporter: RetrainReporter, result: JobResult) -> None:
    """A shadow retrain's end: a version that was written shadows the serving one, then the
    usual report, and a line that says so."""
    services, task, version = request.services, request.task.name, result.train.version
    if result.succeeded and version:
        services.db.shadows.start(task, version, request.user)
        services.shadows.forget_lookup(task)
        log.info("retrain %d: %s shadows %s", result.job_id, version, task)
    reporter.on_done(result)
    if result.succeeded and version:
        reporter.say(shadow_started(task, version, services.models.store(task).current()))
