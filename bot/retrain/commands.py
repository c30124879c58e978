"""``/heed-admin retrain``: the preview of what would go in, and its Start, which launches the
job with a :class:`RetrainReporter` for its callbacks."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.blocks.admin import NOTHING_TO_TRAIN, already_running
from bot.blocks.common import one_line
from bot.retrain.jobs import JobAlreadyRunning, RetrainError
from bot.retrain.messages import IN_DM_NOTE, preview_blocks, retrain_started
from bot.retrain.preview import build_preview
from bot.retrain.reporter import RetrainReporter
from bot.retrain.runner import NO_TRUSTED_EVAL
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error

log = logging.getLogger(__name__)


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
    preview = build_preview(runner, services.db, version, created)
    text, blocks = preview_blocks(preview)
    request.private(text, blocks)


def start_retrain(request: Request) -> None:
    """Start a retraining job (one per task) and report it where the admin asked."""
    if _refused(request):
        return
    services = request.services
    runner = services.runners[request.task.name]
    channel, ts = _status_message(request)
    reporter = RetrainReporter(
        services, request.client, channel, ts, request.user, request.task.name
    )
    try:
        job = runner.start(
            request.user, reporter.on_progress, reporter.on_done, channel=channel, message_ts=ts
        )
    except JobAlreadyRunning as exc:
        reporter.final(already_running(exc.job))
        return
    except RetrainError as exc:
        reporter.final(f":x: {one_line(str(exc))}")
        return
    reporter.started(job)
