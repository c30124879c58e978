"""/heed-admin retrain (:mod:`bot.retrain.commands`): where the status message goes, and how
the reporter (:mod:`bot.retrain.reporter`) edits it and reports the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.admin import NOTHING_TO_TRAIN
from bot.database.records import RunningJob
from bot.retrain.commands import do_retrain, start_retrain
from bot.retrain.contract import TrainResult, parse_result
from bot.retrain.jobs import JobAlreadyRunning, JobResult, RetrainError
from bot.retrain.messages import IN_DM_NOTE
from bot.retrain.reporter import RetrainReporter, Throttle
from bot.services import Request, Services
from bot.serving.holder import ModelHolder
from classifier.store import ModelStore
from tests.bot.stubs import VERSION, StubClassifier, request_for, services_for

V2 = "20260102-000000-bcdef0"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    runner = MagicMock()
    runner.running.return_value = None
    runner.data_files = [tmp_path / "export.csv"]
    s = services_for(tmp_path)
    s.runners = {"default": runner}
    yield s
    s.close()


def request(services: Services, client: Any) -> tuple[Request, MagicMock]:
    respond = MagicMock()
    command = {"user_id": "UADMIN", "channel_id": "C1", "text": "retrain"}
    return request_for(services, command, client, respond), respond


def job() -> Any:
    """A started job as the reporter sees it (its id and progress)."""
    started = MagicMock(id=4, requested_by="UADMIN", started=datetime.now(UTC), start_event=None)
    started.view.return_value = RunningJob(4, "UADMIN", started.started, "starting")
    return started


def failed(job_id: int, status: str, reason: str) -> JobResult:
    return JobResult(job_id, status, TrainResult(False, "internal"), reason)


def test_outside_heeds_channels_the_status_goes_to_the_dm(services: Services) -> None:
    client = MagicMock()
    client.chat_postMessage.side_effect = [
        SlackApiError("x", {"ok": False, "error": "not_in_channel"}),
        {"ok": True, "channel": "DUADMIN", "ts": "3.3"},
    ]
    client.conversations_open.return_value = {"channel": {"id": "DUADMIN"}}
    services.runners["default"].start.return_value = job()
    req, respond = request(services, client)
    start_retrain(req)
    first, second = (c.kwargs for c in client.chat_postMessage.call_args_list)
    assert first["channel"] == "C1" and second["channel"] == "DUADMIN"
    assert respond.call_args.kwargs["text"] == IN_DM_NOTE
    start = services.runners["default"].start.call_args
    assert start.args[0] == "UADMIN"
    assert start.kwargs == {"channel": "DUADMIN", "message_ts": "3.3", "promote": True}
    started = client.chat_update.call_args.kwargs
    assert (started["channel"], started["ts"]) == ("DUADMIN", "3.3")
    assert started["text"].startswith(":arrows_counterclockwise: Retraining job #4")


def test_nothing_to_train_on_starts_nothing(services: Services) -> None:
    services.runners["default"].data_files = []
    client = MagicMock()
    req, respond = request(services, client)
    do_retrain(req)
    assert respond.call_args.kwargs["text"] == NOTHING_TO_TRAIN
    services.runners["default"].start.assert_not_called()
    client.chat_postMessage.assert_not_called()


@pytest.mark.parametrize(
    "error,line",
    [
        (JobAlreadyRunning(job().view()), ":hourglass: A job is already running (#4, started by"),
        (RetrainError("could not start training:\n  no python"), ":x: could not start training:"),
    ],
)
def test_a_refused_start_is_the_status_messages_last_word(
    services: Services, error: Exception, line: str
) -> None:
    client = MagicMock()
    client.chat_postMessage.return_value = {"ok": True, "channel": "C1", "ts": "1.1"}
    services.runners["default"].start.side_effect = error
    start_retrain(request(services, client)[0])
    [final] = client.chat_update.call_args_list
    assert final.kwargs["text"].startswith(line) and "\n" not in final.kwargs["text"]


def reporter_for(services: Services, client: Any) -> RetrainReporter:
    reporter = RetrainReporter(
        services, client, "C1", "1.1", "UADMIN", services.settings.tasks.default_name, Throttle(60)
    )
    reporter.started(job())
    return reporter


def test_progress_is_throttled_and_nothing_edits_after_the_final_line(
    services: Services,
) -> None:
    client = MagicMock()
    reporter = reporter_for(services, client)
    reporter.on_progress({"event": "start", "epochs": 1, "total_steps": 4, "train_rows": 9})
    reporter.on_progress({"event": "step", "epoch": 1, "step": 1, "total_steps": 4, "loss": 1})
    reporter.on_progress({"event": "epoch", "epoch": 1, "accuracy": 0.5, "macro_f1": 0.4})
    texts = [c.kwargs["text"] for c in client.chat_update.call_args_list]
    assert len(texts) == 3 and "starting" in texts[0]  # the step came within the interval
    assert "training on 9 rows" in texts[1] and "epoch 1 evaluated" in texts[2]
    reporter.final("done")
    reporter.progress("late")
    assert client.chat_update.call_args.kwargs["text"] == "done"


def test_a_promoted_version_that_cannot_be_loaded_is_said(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "current").write_text(VERSION)

    def loader(version: str, store: ModelStore) -> StubClassifier:
        if version == V2:
            raise OSError("broken weights")
        return StubClassifier(version=version)

    holder = ModelHolder(ModelStore(models), loader=loader)
    holder.load()
    services = services_for(tmp_path, holder=holder)
    client = MagicMock()
    try:
        (models / "current").write_text(V2)  # the training child promoted V2
        train = parse_result({"ok": True, "version": V2, "promoted": True, "metrics": {}}, 0)
        result = JobResult(4, "succeeded", train, seconds=3)
        reporter_for(services, client).on_done(result)
    finally:
        services.close()
    assert holder.version == VERSION
    evaluation = json.dumps(client.chat_postMessage.call_args.kwargs["blocks"])
    assert f"could not load `{V2}` and still serves `{VERSION}`" in evaluation
    client.files_upload_v2.assert_not_called()  # no confusion matrix in the result


def test_a_failure_is_posted_and_is_the_status_messages_last_edit(services: Services) -> None:
    client = MagicMock()
    result = failed(4, "failed", "the training data is invalid: a.csv:2: empty text")
    reporter_for(services, client).on_done(result)
    line = client.chat_postMessage.call_args.kwargs["text"]
    assert line == (
        ":x: <@UADMIN> retraining job #4 failed: the training data is invalid: a.csv:2: "
        f"empty text; the serving model is unchanged (`{VERSION}`)"
    )
    assert client.chat_update.call_args.kwargs["text"] == line


def test_corrections_alone_are_not_retrained_on(services: Services) -> None:
    services.runners["default"].data_files, services.runners["default"].eval_files = [], []
    pid = services.db.predictions.record(text="x", label="neutral")
    services.db.predictions.record_answer(pid, "ULABEL", "positive", role="labeler")
    client = MagicMock()
    req, respond = request(services, client)
    do_retrain(req)
    text = respond.call_args.kwargs["text"]
    assert text.startswith(":warning: Not retraining: nothing trusted to judge a new model on")
    services.runners["default"].start.assert_not_called()
    client.chat_postMessage.assert_not_called()


def test_each_ended_job_is_counted_by_its_outcome(services: Services) -> None:
    for number, status in enumerate(("failed", "cancelled", "timed_out", "cancelled")):
        result = failed(number, status, "stopped")
        reporter_for(services, MagicMock()).on_done(result)
    registry = services.metrics.registry
    counts = {
        outcome: registry.get_sample_value("heed_retrain_jobs_total", {"outcome": outcome})
        for outcome in ("failed", "cancelled", "timed_out")
    }
    assert counts == {"failed": 1.0, "cancelled": 2.0, "timed_out": 1.0}


def test_the_confusion_matrix_and_the_reliability_diagram_are_uploaded(
    services: Services, tmp_path: Path
) -> None:
    version_dir = tmp_path / V2
    version_dir.mkdir()
    for name in ("confusion_matrix.png", "reliability_diagram.png"):
        (version_dir / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
    calibration = {"temperature": 1.5, "calibrated": True, "ece_before": 0.2, "ece_after": 0.05}
    payload = {
        "ok": True,
        "version": V2,
        "path": str(version_dir),
        "promoted": False,
        "metrics": {},
        "calibration": calibration,
    }
    result = JobResult(4, "succeeded", parse_result(payload, 0), seconds=3)
    client = MagicMock()
    reporter_for(services, client).on_done(result)
    uploads = [c.kwargs for c in client.files_upload_v2.call_args_list]
    assert [u["filename"] for u in uploads] == [
        f"confusion-matrix-{V2}.png",
        f"reliability-diagram-{V2}.png",
    ]
    assert uploads[1]["file"].endswith(b"reliability_diagram.png")
    assert "before and after calibration" in uploads[1]["initial_comment"]
    evaluation = json.dumps(client.chat_postMessage.call_args.kwargs["blocks"], ensure_ascii=False)
    assert "held-out ECE 20.0% → 5.0%" in evaluation


def test_throttle() -> None:
    now = [0.0]
    throttle = Throttle(3.0, clock=lambda: now[0])
    assert throttle.ready()
    now[0] = 1.0
    assert not throttle.ready()
    assert throttle.ready(force=True)
    now[0] = 3.5
    assert not throttle.ready()
    now[0] = 4.0
    assert throttle.ready()
