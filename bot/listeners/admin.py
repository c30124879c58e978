"""``/heed-admin retrain|status|rollback|export|help``: admins steer the model from Slack.

The listener acks at once; a job then decides whether the user is an admin
(:class:`bot.admin.AdminCheck`), writes the attempt to the audit log — every attempt, allowed or
refused, with the reason — and runs the subcommand. Answers go to the admin only (ephemeral,
through the command's ``response_url``), except what the channel should see: a retrain's
status message and evaluation, and a rollback.

``retrain`` posts a status message in the invoking channel (or the admin's DM when Heed is not
a member), starts a :class:`~bot.retrain.RetrainRunner` job and edits that message with the
job's progress (``chat.update`` at most every :data:`PROGRESS_INTERVAL` seconds, and at each
epoch). When the job ends it posts the evaluation and the confusion matrix; a promoted version
is loaded and swapped in right away (:meth:`ModelHolder.reload`; requests already running
finish on the old model). A failed, cancelled or timed-out job changes nothing and is reported
in one line.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.admin import parse_admin
from bot.replies import NOT_MEMBER_ERRORS, UPLOAD_ERRORS, api_error, describe_error
from bot.retrain import Job, JobAlreadyRunning, JobResult, RetrainError, Throttle
from bot.retrain import describe_progress as progress_text
from bot.services import Services
from classifier.store import ModelNotFoundError, StoreError

log = logging.getLogger(__name__)

ADMIN = "/heed-admin"
PROGRESS_INTERVAL = 3.0
RECENT_JOBS = 5
NOTHING_TO_TRAIN = (
    ":information_source: Nothing to train on: `HEED_TRAIN_DATA` names no export and no "
    "feedback has been recorded yet. Set `HEED_TRAIN_DATA` to a labelled CSV/TSV/JSONL "
    "export, or answer some `/classify` replies first."
)
NO_DATABASE = ":warning: This Heed runs without its database, so `{action}` is unavailable."

Handler = Callable[[Services, WebClient, Respond, dict[str, Any], str], None]


def admin_context(command: dict[str, Any]) -> dict[str, Any]:
    """Who/where of an admin command, for logs."""
    return {
        "command": command.get("command"),
        "channel": command.get("channel_id"),
        "user": command.get("user_id"),
    }


def _private(respond: Respond, text: str, blocks_: list[dict] | None = None) -> None:
    respond(text=text, blocks=blocks_, response_type="ephemeral", replace_original=False)


def _metadata(services: Services, version: str | None) -> dict[str, Any]:
    if not version:
        return {}
    try:
        return services.holder.store.metadata(version)
    except Exception as exc:  # a missing/broken heed.json is not worth a failed command
        log.warning("cannot read heed.json of %s: %s", version, exc)
        return {}


# -- subcommands -------------------------------------------------------------------------


def do_help(
    services: Services, client: WebClient, respond: Respond, command: dict, rest: str
) -> None:
    _private(respond, blocks.admin_usage())


def do_status(
    services: Services, client: WebClient, respond: Respond, command: dict, rest: str
) -> None:
    version = services.holder.version
    store = services.feedback
    text, status = blocks.status_blocks(
        version,
        _metadata(services, version),
        current=services.retrain.current_job() if services.retrain else None,
        jobs=store.recent_jobs(RECENT_JOBS + 1) if store else [],
        counts=store.feedback_counts() if store else None,
        train_data=[str(p) for p in services.settings.train_data],
    )
    _private(respond, text, status)


def do_rollback(
    services: Services, client: WebClient, respond: Respond, command: dict, rest: str
) -> None:
    holder = services.holder
    try:
        previous, target = holder.store.rollback()
    except StoreError:
        _private(
            respond,
            f":information_source: Nothing to roll back to: `{holder.store.current()}` is the "
            "earliest version in the promotion history.",
        )
        return
    except ModelNotFoundError as exc:
        _private(respond, f":warning: Cannot roll back: {exc}; still serving `{holder.version}`.")
        return
    holder.reload()  # swap now; the watcher would only notice within a few seconds
    log.info("rolled back from %s to %s by %s", previous, target, command.get("user_id"))
    respond(
        text=blocks.rolled_back(previous, target, holder.version),
        response_type="in_channel",
        replace_original=False,
    )


def do_export(
    services: Services, client: WebClient, respond: Respond, command: dict, rest: str
) -> None:
    store = services.feedback
    if store is None:
        _private(respond, NO_DATABASE.format(action="export"))
        return
    buffer = io.StringIO(newline="")
    rows = store.export_corrections_csv(buffer)
    if not rows:
        _private(
            respond,
            ":information_source: No labelled rows yet: answers to the ✓ Correct / "
            "Actually it's… controls on `/classify` replies become rows.",
        )
        return
    user = command["user_id"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            file=buffer.getvalue().encode("utf-8"),
            filename=f"heed-labelled-rows-{stamp}.csv",
            title=f"Heed labelled rows ({rows})",
            initial_comment=(
                f"{blocks.plural(rows, 'labelled row')} from feedback on `/classify` replies "
                "(`text,label`; when people disagreed, the latest answer). A valid training "
                "export: `python -m training train --data FILE`."
            ),
        )
    except UPLOAD_ERRORS as exc:
        reason = describe_error(exc)
        log.warning("export DM to %s failed: %s", user, reason)
        _private(respond, f":warning: Heed couldn't send the CSV by DM: {reason}")
        return
    _private(
        respond,
        f":incoming_envelope: Sent {blocks.plural(rows, 'labelled row')} as CSV to your DM "
        "with Heed.",
    )


class RetrainReporter:
    """Turns one job's callbacks into Slack messages (status edits, evaluation, PNG)."""

    def __init__(
        self,
        services: Services,
        client: WebClient,
        channel: str,
        ts: str,
        requested_by: str | None,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.services, self.client = services, client
        self.channel, self.ts, self.requested_by = channel, ts, requested_by
        self.throttle = Throttle(interval)
        self.job: Job | None = None
        self.t0 = time.monotonic()
        self._started = threading.Event()
        self._lock = threading.Lock()  # edits in order; none after the final one
        self._final = False

    def started(self, job: Job) -> None:
        """The runner accepted ``job`` (callbacks may come from now on): say so."""
        self.job = job
        self.progress(progress_text(None))
        self._started.set()

    def update(self, text: str) -> None:
        """Edit the status message (failures are logged, never raised)."""
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
        except SlackApiError as exc:
            log.warning("cannot update the retrain status message: %s", api_error(exc))

    def progress(self, text: str) -> None:
        """Show ``text`` as the job's progress, unless the job has already ended."""
        job = self.job
        if job is None:
            return
        line = blocks.retrain_progress(job.id, self.requested_by, text, time.monotonic() - self.t0)
        with self._lock:
            if not self._final:
                self.update(line)

    def on_progress(self, event: dict[str, Any]) -> None:
        """Reader thread: edit the status message, throttled (each epoch always shows)."""
        force = event.get("event") in ("start", "epoch")
        if not self.throttle.ready(force=force):
            return
        self._started.wait(5.0)
        job = self.job
        if job is not None:
            self.progress(progress_text(event, job.start_event))

    def final(self, text: str) -> None:
        """The status message's last edit."""
        with self._lock:
            self._final = True
            self.update(text)

    def on_done(self, result: JobResult) -> None:
        """Supervisor thread: swap to a promoted version, then report the outcome."""
        holder = self.services.holder
        swap_note = ""
        if result.succeeded and result.promoted:
            holder.reload()  # atomic swap now; in-flight requests keep the old classifier
            if holder.version != result.version:
                swap_note = (
                    f":warning: The bot could not load `{result.version}` and still serves "
                    f"`{holder.version}`: see its log."
                )
        serving = holder.version
        if not result.succeeded:
            line = blocks.retrain_failed(result, self.requested_by, serving)
            self.final(line)
            self._post(text=line)
            return
        self.final(blocks.retrain_finished(result, serving))
        text, evaluation = blocks.evaluation_blocks(result, self.requested_by, serving, swap_note)
        self._post(text=text, blocks=evaluation)
        png = result.confusion_matrix_png
        if png is None:
            return
        try:
            self.client.files_upload_v2(
                channel=self.channel,
                file=png.read_bytes(),
                filename=f"confusion-matrix-{result.version}.png",
                title=f"Confusion matrix · {result.version}",
                initial_comment=(
                    f"Confusion matrix of `{result.version}` on the held-out rows "
                    "(rows: true label, columns: predicted)."
                ),
            )
        except UPLOAD_ERRORS as exc:
            reason = describe_error(exc)
            log.warning("confusion matrix upload failed: %s", reason)
            note = blocks.upload_failed_note(reason).replace("heatmap", "confusion matrix")
            self._post(text=note)

    def _post(self, **message: Any) -> None:
        try:
            self.client.chat_postMessage(channel=self.channel, unfurl_links=False, **message)
        except SlackApiError as exc:
            log.warning("cannot post the retrain outcome: %s", api_error(exc))


def _status_message(client: WebClient, respond: Respond, command: dict) -> tuple[str, str]:
    """Post the status message in the invoking channel, else in the admin's DM."""
    text = blocks.retrain_started(command.get("user_id"))
    try:
        posted = client.chat_postMessage(channel=command["channel_id"], text=text)
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        dm = client.conversations_open(users=command["user_id"])["channel"]["id"]
        posted = client.chat_postMessage(channel=dm, text=text)
        _private(
            respond,
            ":information_source: Heed isn't in this channel, so the retraining progress goes "
            "to your DM with Heed (`/invite @Heed` to follow it here).",
        )
    return str(posted["channel"]), str(posted["ts"])


def do_retrain(
    services: Services, client: WebClient, respond: Respond, command: dict, rest: str
) -> None:
    runner, store = services.retrain, services.feedback
    if runner is None or store is None:
        _private(respond, NO_DATABASE.format(action="retrain"))
        return
    running = runner.current_job()
    if running is not None:
        _private(respond, blocks.already_running(running))
        return
    if not runner.data_files and not store.feedback_counts()["labelled_rows"]:
        _private(respond, NOTHING_TO_TRAIN)
        return
    user = command.get("user_id")
    channel, ts = _status_message(client, respond, command)
    reporter = RetrainReporter(services, client, channel, ts, user)
    try:
        job = runner.start(
            user, reporter.on_progress, reporter.on_done, channel=channel, message_ts=ts
        )
    except JobAlreadyRunning as exc:
        reporter.final(blocks.already_running(exc.job))
        return
    except RetrainError as exc:
        reporter.final(f":x: {blocks.one_line(str(exc))}")
        return
    reporter.started(job)


HANDLERS: dict[str, Handler] = {
    "help": do_help,
    "status": do_status,
    "retrain": do_retrain,
    "rollback": do_rollback,
    "export": do_export,
}


def _users_info(client: WebClient, user: str) -> dict[str, Any]:
    """``users.info``'s user object; a Slack error becomes a short ``RuntimeError``."""
    try:
        return client.users_info(user=user)["user"]
    except SlackApiError as exc:
        raise RuntimeError(api_error(exc) or "error") from None


def admin_job(services: Services, client: WebClient, respond: Respond, command: dict) -> None:
    """Check, audit, then run one ``/heed-admin`` subcommand."""
    user = command.get("user_id")
    action, rest = parse_admin(command.get("text"))
    assert services.admin is not None
    decision = services.admin.check(user, lambda u: _users_info(client, u))
    detail = f"{decision.reason}; channel {command.get('channel_id')}"
    if rest:
        detail += f"; arguments {blocks.one_line(rest, 200)!r}"
    if action not in HANDLERS:
        detail += "; unknown subcommand"
    if services.feedback is not None:
        try:
            services.feedback.audit(user, action, decision.allowed, detail)
        except Exception:
            log.exception("cannot write the audit log; refusing %s by %s", action, user)
            _private(respond, ":warning: Heed couldn't write its audit log, so it did nothing.")
            return
    log.info(
        "/heed-admin %s by %s: %s (%s)",
        action,
        user,
        "allowed" if decision.allowed else "refused",
        decision.reason,
    )
    if not decision.allowed:
        _private(respond, blocks.refusal(decision.reason))
        return
    handler = HANDLERS.get(action)
    if handler is None:
        _private(respond, blocks.admin_usage(f"unknown subcommand '{action}'"))
        return
    handler(services, client, respond, command, rest)


def register(app: App, services: Services) -> None:
    """Add the ``/heed-admin`` listener."""

    @app.command(ADMIN)
    def on_admin(
        ack: Ack,
        command: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        services.submit_after_ack(
            admin_job,
            services,
            client,
            respond,
            command,
            respond=respond,
            bolt_context=context,
            context=admin_context(command),
        )
