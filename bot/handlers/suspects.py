"""``/heed-admin suspects [TASK]`` (admins and labelers): look for label errors in the task's
training data in a child process, with progress in the requester's DM, then list the top rows
with Keep / Change. Either answer is a trusted review of that export row (a ``suspects``
prediction with the reviewer's answer); the next retrain passes it as ``--overrides``."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.blocks.admin import already_running, refusal
from bot.blocks.common import one_line
from bot.blocks.suspects import (
    CHANGE_ACTION,
    EXPORT_CHANGED,
    KEEP_ACTION,
    NOT_REVIEWER,
    SUSPECTS_ACTION,
    describe_suspects_event,
    parse_button_value,
    reviewed_line,
    suspects_list,
    suspects_progress,
)
from bot.database.schema import REVIEWED
from bot.handlers.checks import audited, may_label
from bot.retrain.contract import reader_options
from bot.retrain.jobs import JobAlreadyRunning, RetrainError
from bot.retrain.reporter import PROGRESS_INTERVAL, Throttle
from bot.retrain.suspects import SuspectsResult, SuspectsRun
from bot.services import Request
from bot.slack_api.errors import api_error
from classifier.exports import DataError, Example, read_export

log = logging.getLogger(__name__)

SUSPECT_BUTTONS = re.compile(f"^({re.escape(KEEP_ACTION)}|{re.escape(CHANGE_ACTION)})$")


@dataclass(eq=False)
class SuspectsReporter:
    """One run's status message in the requester's DM, edited with the progress, then the
    list of suspects posted under it."""

    request: Request
    channel: str
    ts: str
    run: SuspectsRun | None = None  # its job id is set before the child can report
    throttle: Throttle = field(default_factory=lambda: Throttle(PROGRESS_INTERVAL))
    fold: str = ""
    t0: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def job_id(self) -> int:
        """The run's job id (0 before it started)."""
        return self.run.job_id if self.run is not None else 0

    def on_progress(self, event: dict[str, Any]) -> None:
        """Reader thread: remember the fold, edit the status message (throttled)."""
        if event.get("event") == "fold":
            self.fold = f"{event.get('fold')}/{event.get('folds')}"
        if self.job_id and self.throttle.ready(force=event.get("event") == "fold"):
            progress = describe_suspects_event(event, self.fold)
            elapsed = time.monotonic() - self.t0
            self._say(
                "chat_update",
                ts=self.ts,
                text=suspects_progress(self.job_id, self.request.user, progress, elapsed),
            )

    def on_done(self, result: SuspectsResult) -> None:
        """Supervisor thread: the final status, then the list (or why there is none)."""
        if not result.ok:
            self._say(
                "chat_update",
                ts=self.ts,
                text=f":x: Suspects job #{self.job_id}: {one_line(result.reason)}",
            )
            return
        runner = self.request.services.runners[self.request.task.name]
        exports = [str(path) for path in runner.data_files]
        text, blocks = suspects_list(self.request.task.name, result.rows, result.suspects, exports)
        self._say(
            "chat_update", ts=self.ts, text=f"{text} (job #{self.job_id}, {result.seconds:.0f}s)"
        )
        self._say("chat_postMessage", text=text, blocks=blocks, unfurl_links=False)

    def _say(self, method: str, **message: Any) -> None:
        with self._lock:
            try:
                getattr(self.request.client, method)(channel=self.channel, **message)
            except SlackApiError as exc:
                log.warning("cannot send the suspects status to Slack: %s", api_error(exc))


def do_suspects(request: Request) -> None:
    """Start a run on the request's task and report it in the requester's DM."""
    runner = request.services.runners[request.task.name]
    running = runner.running()
    if running is not None:
        request.private(already_running(running))
        return
    client = request.client
    dm = client.conversations_open(users=request.user)["channel"]["id"]
    posted = client.chat_postMessage(
        channel=dm, text=":mag: Looking for suspected label errors: starting…"
    )
    reporter = SuspectsReporter(request, str(posted["channel"]), str(posted["ts"]))
    reporter.run = SuspectsRun(runner, request.user, reporter.on_progress, reporter.on_done)
    try:
        reporter.run.start(channel=reporter.channel, message_ts=reporter.ts)
    except JobAlreadyRunning as exc:
        client.chat_update(channel=reporter.channel, ts=reporter.ts, text=already_running(exc.job))
        return
    except RetrainError as exc:
        client.chat_update(
            channel=reporter.channel, ts=reporter.ts, text=f":x: {one_line(str(exc))}"
        )
        return
    request.private(
        f":mag: Looking for suspected label errors in task `{request.task.name}` (job "
        f"#{reporter.job_id}): progress and the list come to your DM with Heed."
    )


def _row(request: Request, export: int, line: int) -> tuple[Example | None, set[str]]:
    """Line ``line`` of the task's ``export``-th training file (None when there is no such
    row) and the labels the task's training files use."""
    runner = request.services.runners[request.task.name]
    read = reader_options(runner.extra_args)
    found, labels = None, set()
    for index, path in enumerate(runner.data_files):
        try:
            rows = read_export(path, read["text_column"], read["label_column"])
        except DataError:
            continue
        labels |= {r.label for r in rows}
        if index == export:
            found = next((r for r in rows if r.source.rpartition(":")[2] == str(line)), None)
    return found, labels


def suspect_button_job(request: Request) -> None:
    """Keep / Change: check the reviewer (admin or labeler, audited), that the row is still
    what the run saw, then record the review as a trusted answer."""
    fields = parse_button_value(str(request.action.get("value") or ""))
    task = request.services.settings.tasks.by_name.get(fields["task"]) if fields else None
    kept = request.action.get("action_id") == KEEP_ACTION
    if task is not None:
        request = replace(request, task=task)
    decision = may_label(request, None)
    detail = f"{decision.reason}; {'keep' if kept else 'change'} (suspects button)"
    if fields is not None:
        detail += f"; line {fields['line']} of export {fields['export']}"
    allowed = decision.allowed and task is not None and request.user_team == request.team
    if not audited(request, SUSPECTS_ACTION, allowed, detail):
        return
    if not allowed:
        request.private(NOT_REVIEWER if fields is not None else refusal("not a suspects button"))
        return
    assert fields is not None and decision.role is not None
    row, labels = _row(request, fields["export"], fields["line"])
    label = fields["given"] if kept else fields["label"]
    if row is None or row.label != fields["given"] or label not in labels:
        request.private(EXPORT_CHANGED)
        return
    db = request.services.db
    prediction = db.predictions.record(
        text=row.text, label=row.label, source=REVIEWED, task=task.name, method="suspects"
    )
    db.predictions.record_answer(prediction, request.user, label, role=decision.role)
    log.info(
        "suspect line %d of task %s %s by %s",
        fields["line"],
        task.name,
        "kept" if kept else f"changed to {label!r}",
        request.user,
    )
    request.private(reviewed_line(kept, fields["line"], row.label, label))
