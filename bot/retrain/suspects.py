"""``python -m training suspects`` in a child process for one task: on its exports plus its
trusted corrections, the reviewed suspects relabelling their rows. The run holds the task's
job slot (a ``suspects`` job row with a lease), so it never competes with a retrain for the
cores; its count is kept on the row for the retrain preview."""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.database import Database, JobConflict
from bot.database.exports import write_jsonl, write_private
from bot.database.records import RunningJob
from bot.database.schema import FEEDBACK_SOURCES
from bot.retrain.contract import (
    checked,
    failure_reason,
    last_json_line,
    parse_result,
    reader_options,
)
from bot.retrain.jobs import JobAlreadyRunning, RetrainError
from bot.retrain.runner import RetrainRunner, child_env, export_reviewed, read_events, signal_group
from bot.retrain.runner import spawn as spawn_child

log = logging.getLogger(__name__)

KIND = "suspects"
TRUSTED_FILENAME = "heed-trusted-corrections.jsonl"
RUN_FLAGS = ("--progress", "jsonl", "--json", "--stop-when-stdin-closes")
MAX_SUSPECTS_KEPT = 200  # of the child's list; Slack shows the first few
NOTHING_TO_SEARCH = "nothing to search: HEED_TRAIN_DATA names no export for this task"


@dataclass(frozen=True)
class Suspect:
    """One row the run suspects, as the child reported it (checked, never trusted blindly)."""

    file: str
    line: int
    text: str
    given: str
    suggested: str
    score: float


@dataclass(frozen=True)
class SuspectsResult:
    """How a run ended: its suspects, most suspect first, or one line on why it failed."""

    ok: bool
    rows: int = 0
    suspects: tuple[Suspect, ...] = ()
    reason: str = ""
    seconds: float = 0.0


def parse_suspects(payload: dict[str, Any] | None, returncode: int) -> SuspectsResult:
    """A finished child's result from its last JSON object (None: it wrote none) and exit code."""
    payload = payload or {}
    if payload.get("ok") is not True or returncode != 0:
        failed = parse_result(payload, returncode)
        return SuspectsResult(False, reason=failure_reason(failed))
    found = []
    for item in checked(payload.get("suspects"), list, [])[:MAX_SUSPECTS_KEPT]:
        item = checked(item, dict, {})
        values = (
            checked(item.get("file"), str),
            checked(item.get("line"), int),
            checked(item.get("text"), str),
            checked(item.get("given"), str),
            checked(item.get("suggested"), str),
            checked(item.get("score"), (int, float)),
        )
        if None not in values:
            found.append(Suspect(*values[:5], float(values[5])))
    return SuspectsResult(True, rows=checked(payload.get("rows"), int, 0), suspects=tuple(found))


def last_suspects_count(db: Database, task: str, look_back: int = 20) -> int | None:
    """How many suspects the task's newest finished run found (None: no run among the task's
    last ``look_back`` jobs)."""
    for record in db.jobs.recent(look_back, task):
        if record.kind == KIND and record.status == "succeeded":
            return checked((record.metrics or {}).get("suspects"), int)
    return None


@dataclass(eq=False)
class SuspectsRun:
    """One run for the task of ``runner`` (its exports, store, interpreter, lease and timeout),
    reported through ``on_progress`` (the child's JSON events) and ``on_done``."""

    runner: RetrainRunner
    requested_by: str | None
    on_progress: Callable[[dict[str, Any]], None]
    on_done: Callable[[SuspectsResult], None]
    job_id: int = field(default=0, init=False)
    progress: str = field(default="suspects run: starting", init=False)  # stored with the lease
    _proc: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)

    @property
    def db(self) -> Database:
        """The runner's database."""
        return self.runner.db

    def command(self, workdir: Path) -> list[str]:
        """``python -m training suspects`` on the task's exports and trusted corrections."""
        runner = self.runner
        trusted = [
            (row.text, row.label)
            for row in self.db.predictions.labelled(runner.task, sources=FEEDBACK_SOURCES)
            if row.trusted
        ]
        data = [str(path) for path in runner.data_files]
        if trusted:
            path = workdir / TRUSTED_FILENAME
            write_private(path, lambda handle: write_jsonl(handle, trusted))
            data.append(str(path))
        args = ["suspects", "--data", *data]
        reviewed = export_reviewed(self.db, runner.task, workdir)
        args += ["--overrides", str(reviewed)] if reviewed else []
        args += ["--base", runner.base] if runner.base else []
        read = reader_options(runner.extra_args)
        args += ["--seed", str(read["seed"]), "--text-column", read["text_column"]]
        args += ["--label-column", read["label_column"]]
        return [*(runner.launcher or [runner.python]), "-m", "training", *args, *RUN_FLAGS]

    def start(self, channel: str | None = None, message_ts: str | None = None) -> int:
        """Claim the task's job slot and start the child; returns the job id. Raises
        :class:`RetrainError` (:class:`JobAlreadyRunning` when the slot is taken)."""
        runner = self.runner
        if not runner.data_files:
            raise RetrainError(NOTHING_TO_SEARCH)
        workdir = Path(tempfile.mkdtemp(prefix="heed-suspects-"))
        try:
            cmd = self.command(workdir)
            try:
                record = self.db.jobs.claim(
                    KIND,
                    self.requested_by,
                    owner=runner.owner,
                    lease=timedelta(seconds=runner.lease_s),
                    channel=channel,
                    message_ts=message_ts,
                    task=runner.task,
                )
            except JobConflict as exc:
                raise JobAlreadyRunning(RunningJob.from_record(exc.existing)) from None
            self.job_id = record.id
            try:
                self._proc = spawn_child(cmd, workdir / "stdout.txt", child_env(runner.model_dir))
            except OSError as exc:
                message = f"could not start the suspects run: {exc}"
                self.db.jobs.finish(record.id, "failed", owner=runner.owner, message=message)
                raise RetrainError(message) from exc
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        log.info("suspects job %d started (pid %d)", record.id, self._proc.pid)
        threading.Thread(
            target=self._supervise, args=(workdir,), name=f"heed-suspects-{record.id}", daemon=True
        ).start()
        return record.id

    def _supervise(self, workdir: Path) -> None:
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        started = time.monotonic()
        reader = threading.Thread(
            target=read_events, args=(proc.stderr, self._on_event, log.debug), daemon=True
        )
        reader.start()
        result = SuspectsResult(False, reason="the suspects run was interrupted")
        try:
            stopped = self._wait_renewing(started)
            signal_group(proc, signal.SIGKILL)  # any grandchild left behind
            reader.join(timeout=10)
            parsed = parse_suspects(last_json_line(workdir / "stdout.txt"), proc.returncode)
            result = SuspectsResult(
                parsed.ok and not stopped,
                parsed.rows,
                parsed.suspects,
                stopped or parsed.reason,
                round(time.monotonic() - started, 1),
            )
        except Exception as exc:  # never leave the job row running
            log.exception("suspects job %d: supervisor failed", self.job_id)
            result = SuspectsResult(False, reason=f"internal error while watching the run: {exc}")
        finally:
            self._record(result)
            shutil.rmtree(workdir, ignore_errors=True)
            try:
                self.on_done(result)
            except Exception:
                log.exception("suspects job %d: reporting the outcome failed", self.job_id)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "fold":
            self.progress = f"suspects run: fold {event.get('fold')}/{event.get('folds')}"
        self.on_progress(event)

    def _wait_renewing(self, started: float) -> str:
        """Wait for the child, renewing the lease; stop it on timeout or a lost lease, and
        then say why ("" when it ended by itself)."""
        runner, proc = self.runner, self._proc
        assert proc is not None
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.2, runner.lease_s / 3))
                return ""
            if time.monotonic() - started >= runner.timeout_s:
                why = f"timed out after {runner.timeout_s:g}s; the run was stopped"
            elif not self._renew():
                why = "stopped: the job was cancelled or another replica took it over"
            else:
                continue
            signal_group(proc, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(runner.kill_grace_s)
            signal_group(proc, signal.SIGKILL)
            proc.wait()
            return why

    def _renew(self) -> bool:
        """Renew the lease; False only when the job is no longer this replica's (a database
        hiccup is not a lost lease: the next renewal retries)."""
        lease = timedelta(seconds=self.runner.lease_s)
        try:
            return self.db.jobs.renew(self.job_id, self.runner.owner, lease, self.progress)
        except Exception:
            log.exception("suspects job %d: cannot renew its lease", self.job_id)
            return True

    def _record(self, result: SuspectsResult) -> None:
        status = "succeeded" if result.ok else "failed"
        message = f"found {len(result.suspects)} suspects" if result.ok else result.reason
        metrics = {"suspects": len(result.suspects), "rows": result.rows} if result.ok else None
        try:
            self.db.jobs.finish(
                self.job_id, status, owner=self.runner.owner, metrics=metrics, message=message
            )
        except Exception:
            log.exception("suspects job %d: could not record the outcome", self.job_id)
