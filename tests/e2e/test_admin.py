"""The real bot process against the fake Slack: feedback, and /heed-admin retrain (the real
training CLI on the tiny model), rollback, export, status and the Home tab.

The tests run in file order on one bot: a feedback answer, a refused non-admin, three jobs that
fail for different reasons (a malformed export, a base model that cannot be loaded, a training
child stopped with SIGINT), each reported in its own one line taken from the training CLI's
JSON, an admin retrain that promotes a new version (with a second retrain refused while it
runs), a rollback to the first version, then export, status and the Home tab.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PIL import Image

from bot.database import Database
from bot.database.labels import resolve
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv
from tests.e2e.support import (
    PNG_SIGNATURE,
    VERSION,
    BotProcess,
    make_store,
    start_socket_bot,
    wait_quiet,
)
from tests.support.fakeslack import Call, FakeSlack
from tests.support.retrain import preview_for, request_retrain

pytestmark = pytest.mark.e2e

ADMIN, MEMBER, LABELER = "UADMIN", "UMEMBER", "U3"
FEEDBACK_BLOCK = "heed_feedback"
JOB_S = 150.0  # a real training child on the tiny model: ~15 s here, generous for slow CI


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin-bot")


@pytest.fixture(scope="module")
def store(tiny_model: Path, workdir: Path) -> Path:
    return make_store(tiny_model, workdir / "models")


@pytest.fixture(scope="module")
def train_data(workdir: Path) -> Path:
    return write_csv(workdir / "train.csv", make_rows(10))


@pytest.fixture(scope="module")
def base(workdir: Path, tiny_base: Path) -> Path:
    """The base model the bot retrains from: a copy, so a test can break it for a while."""
    return Path(shutil.copytree(tiny_base, workdir / "base"))


@pytest.fixture(scope="module")
def bot(
    fake: FakeSlack, store: Path, workdir: Path, train_data: Path, base: Path
) -> Iterator[BotProcess]:
    yield from start_socket_bot(
        fake,
        store,
        workdir / "bot",
        HEED_ADMINS=ADMIN,
        HEED_LABELERS=LABELER,
        HEED_TRAIN_DATA=str(train_data),
        HEED_RETRAIN_ARGS=(
            f"--base {shlex.quote(str(base))} --epochs 1 --batch-size 8 --max-length 32"
        ),
        HEED_RETRAIN_TIMEOUT="300",
    )


@pytest.fixture
def slack(fake: FakeSlack, bot: BotProcess) -> FakeSlack:
    wait_quiet(fake, 0.3)
    fake.reset()
    return fake


@pytest.fixture
def db(workdir: Path, bot: BotProcess) -> Iterator[Database]:
    """The bot's database, opened beside it (WAL: readers do not block the bot)."""
    with closing(Database(workdir / "bot" / "var" / "heed.sqlite3")) as database:
        yield database


def classify(fake: FakeSlack, text: str, channel: str = "C1") -> Call:
    before = len(fake.calls("chat.postMessage"))
    envelope = fake.send_slash_command("/classify", text, channel_id=channel)
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    return fake.wait_for(
        lambda: [c for c in fake.calls("chat.postMessage")[before:] if c.params.get("blocks")],
        timeout=30,
        what="a /classify reply",
    )[0]


def admin(fake: FakeSlack, text: str, user: str = ADMIN) -> str:
    """``/heed-admin TEXT``: acked at once; returns the first response_url answer's text."""
    before = len(fake.calls("response_url"))
    envelope = fake.send_slash_command("/heed-admin", text, user_id=user)
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    return fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=30)[0].params["text"]


def status_message(fake: FakeSlack) -> Call:
    return fake.wait_for_call(
        "chat.postMessage", lambda c: "Retraining requested by" in c.params["text"], timeout=30
    )


def test_feedback_is_stored_and_the_reply_updated(slack: FakeSlack, db: Database) -> None:
    reply = classify(slack, "the cable arrived on tuesday")  # asked by U1
    [actions] = [b for b in reply.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK]
    confirm, select = actions["elements"]
    prediction_id = int(confirm["value"])
    predicted = db.predictions.get(prediction_id).label
    other = next(o for o in select["options"] if o["text"]["text"] != predicted)

    def pick(user: str, team: str | None = None) -> None:
        slack.send_block_action(
            select["action_id"],
            user_id=user,
            message_ts=reply.response["ts"],
            block_id=FEEDBACK_BLOCK,
            selected_option=other,
            user_team=team,
        )

    pick("U2")  # a member who did not ask
    pick(LABELER, team="TCONNECT")  # a Slack Connect user with a labeler's id
    refusals = slack.wait_for(lambda: len(slack.calls("response_url")) == 2, timeout=15)
    assert refusals and all(
        c.params["text"].startswith(":no_entry: Only the person who asked")
        for c in slack.calls("response_url")
    )
    assert db.predictions.answers_for(prediction_id) == [] and not slack.calls("chat.update")
    audit = [(e.user, e.action, e.allowed) for e in db.audit.recent(2)]
    assert sorted(audit) == [("U2", "label", False), (LABELER, "label", False)]

    envelope = slack.send_block_action(
        confirm["action_id"],
        confirm["value"],
        user_id="U1",
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK,
    )
    assert slack.wait_for_ack(envelope, timeout=5).latency < 3
    update = slack.wait_for_call("chat.update", timeout=15)
    assert update.params["ts"] == reply.response["ts"]
    assert f"Suggested: {predicted} by <@U1>" in json.dumps(update.params["blocks"])
    assert db.predictions.labelled_rows() == []  # the asker's answer is a suggestion

    pick(LABELER)  # the labeler decides
    slack.wait_for(lambda: len(slack.calls("chat.update")) == 2, timeout=15)
    body = json.dumps(slack.calls("chat.update")[-1].params["blocks"])
    assert "<@U1>" in body and f"Recorded: {other['text']['text']} by <@{LABELER}>" in body
    answers = [(a.user, a.chosen_label) for a in db.predictions.answers_for(prediction_id)]
    assert answers == [("U1", predicted), (LABELER, other["text"]["text"])]
    assert db.predictions.labelled_rows() == [
        ("the cable arrived on tuesday", other["text"]["text"])
    ]
    stored = db.predictions.get(prediction_id)
    assert (stored.model_version, stored.message_ts) == (VERSION, reply.response["ts"])


def test_conflicting_trusted_answers_hold_the_row(slack: FakeSlack, db: Database) -> None:
    reply = classify(slack, "is this abuse or not")
    [actions] = [b for b in reply.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK]
    confirm, select = actions["elements"]
    prediction_id = int(confirm["value"])
    before = db.predictions.labelled_rows()
    slack.send_block_action(
        confirm["action_id"],
        confirm["value"],
        user_id=ADMIN,
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK,
    )
    slack.wait_for(lambda: len(slack.calls("chat.update")) == 1, timeout=15)
    slack.send_block_action(
        select["action_id"],
        user_id=LABELER,
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK,
        selected_option=select["options"][0],
    )
    slack.wait_for(lambda: len(slack.calls("chat.update")) == 2, timeout=15)
    assert "held for review" in json.dumps(slack.calls("chat.update")[-1].params["blocks"])
    assert resolve(db.predictions.answers_for(prediction_id)).held
    assert db.predictions.labelled_rows() == before  # not trained on


def test_a_non_admin_retrain_is_refused_audited_and_changes_nothing(
    slack: FakeSlack, store: Path, db: Database
) -> None:
    answer = admin(slack, "retrain", user=MEMBER)
    assert "Only Heed admins" in answer
    time.sleep(0.5)
    assert not slack.calls("chat.postMessage")
    entry = db.audit.recent(1)[0]
    assert (entry.user, entry.action, entry.allowed) == (MEMBER, "retrain", False)
    assert db.jobs.recent() == [] and ModelStore(store).current() == VERSION


def failure_line(fake: FakeSlack) -> str:
    """Start a retrain and return the one-line failure it ends with."""
    before = len(fake.calls("chat.postMessage"))
    request_retrain(fake, ADMIN)
    status_message(fake)
    [failure] = fake.wait_for(
        lambda: [
            c for c in fake.calls("chat.postMessage")[before:] if c.params["text"].startswith(":x:")
        ],
        timeout=JOB_S,
        what="the failure line",
    )
    return failure.params["text"]


def test_a_malformed_export_is_shown_in_the_preview_and_nothing_starts(
    slack: FakeSlack, store: Path, train_data: Path, db: Database
) -> None:
    good = train_data.read_bytes()
    write_csv(train_data, make_rows(10), header=("text", "category"))
    jobs = len(db.jobs.recent(100))
    try:
        envelope = slack.send_slash_command("/heed-admin", "retrain", user_id=ADMIN)
        preview = preview_for(slack, envelope)
    finally:
        train_data.write_bytes(good)
    body = json.dumps(preview.params["blocks"])
    assert "*Data problems* (1):" in body and "train.csv:1: missing column 'label'" in body
    assert "Start retraining" not in body and "Cancel" in body
    assert not slack.calls("chat.postMessage") and len(db.jobs.recent(100)) == jobs
    assert ModelStore(store).current() == VERSION


def test_a_base_model_that_cannot_be_loaded_is_not_called_bad_data(
    slack: FakeSlack, store: Path, base: Path, db: Database
) -> None:
    config = base / "config.json"
    config.rename(base / "config.json.away")
    try:
        line = failure_line(slack)
    finally:
        (base / "config.json.away").rename(config)
    assert "\n" not in line and "failed: the base model cannot be loaded: " in line
    assert "has no config.json" in line and "training data" not in line
    assert ModelStore(store).current() == VERSION


def training_children(parent: int) -> list[int]:
    """PIDs of ``python -m training train`` processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"training" in cmdline and b"train" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_training_child_stopped_with_sigint_is_reported_as_interrupted(
    slack: FakeSlack, store: Path, train_data: Path, bot: BotProcess, db: Database
) -> None:
    good = train_data.read_bytes()
    write_csv(train_data, make_rows(3000))  # seconds of training: stopped mid-epoch
    versions = set(ModelStore(store).versions())
    try:
        before = len(slack.calls("chat.postMessage"))
        request_retrain(slack, ADMIN)
        status = status_message(slack)
        slack.wait_for(
            lambda: [
                c
                for c in slack.calls("chat.update")
                if c.params["ts"] == status.response["ts"] and "training on" in c.params["text"]
            ],
            timeout=JOB_S,
            what="the training's start event",
        )
        [child] = training_children(bot.proc.pid)
        os.kill(child, signal.SIGINT)
        [failure] = slack.wait_for(
            lambda: [
                c
                for c in slack.calls("chat.postMessage")[before:]
                if c.params["text"].startswith(":x:")
            ],
            timeout=JOB_S,
            what="the failure line",
        )
    finally:
        train_data.write_bytes(good)
    line = failure.params["text"]
    assert "\n" not in line
    assert "failed: training was interrupted: no model version was written" in line
    assert "the serving model is unchanged" in line
    assert ModelStore(store).current() == VERSION
    assert set(ModelStore(store).versions()) == versions
    assert not list(store.glob(".staging-*"))


def test_an_admin_retrain_reports_progress_promotes_and_swaps(
    slack: FakeSlack, store: Path, bot: BotProcess, db: Database
) -> None:
    request_retrain(slack, ADMIN)
    status = status_message(slack)
    assert status.params["channel"] == "C1"
    refused = admin(slack, "retrain")  # while the first one runs
    assert re.match(r":hourglass: A job is already running \(#\d+, started by <@UADMIN>", refused)

    evaluation = slack.wait_for_call(
        "chat.postMessage", lambda c: "*Accuracy:*" in json.dumps(c.params.get("blocks")), JOB_S
    )
    new = ModelStore(store).current()
    assert new != VERSION
    body = json.dumps(evaluation.params["blocks"])
    assert "*macro-F1:*" in body and "precision" in body and "support" in body
    assert f"*Promoted:* Heed now serves `{new}`" in body and "not worse than" in body
    updates = [c for c in slack.calls("chat.update") if c.params["ts"] == status.response["ts"]]
    texts = [c.params["text"] for c in updates]
    assert any("epoch 1/1 evaluated" in t for t in texts), texts
    assert texts[-1].startswith(":white_check_mark:") and new in texts[-1]
    [upload] = slack.wait_for(
        lambda: [u for u in slack.uploads if u.completed and "confusion" in u.filename], timeout=15
    )
    assert upload.channel == "C1" and upload.data.startswith(PNG_SIGNATURE)
    assert Image.open(io.BytesIO(upload.data)).format == "PNG"
    assert "*Calibration:*" in body  # the new version's temperature, or why it has none
    [reliability] = slack.wait_for(
        lambda: [u for u in slack.uploads if u.completed and "reliability" in u.filename],
        timeout=15,
    )
    assert reliability.channel == "C1" and reliability.data.startswith(PNG_SIGNATURE)
    assert f"serving model {new}" in bot.log()
    assert new in classify(slack, "after the retrain").params["text"]
    assert bot.proc.poll() is None  # no restart
    assert db.jobs.recent(1)[0].version == new and db.jobs.recent(1)[0].promoted
    assert [(e.action, e.allowed) for e in db.audit.recent(2)] == [("retrain", True)] * 2


def test_rollback_restores_the_previous_version(
    slack: FakeSlack, store: Path, bot: BotProcess
) -> None:
    promoted = ModelStore(store).current()
    answer = admin(slack, "rollback")
    assert answer == f":leftwards_arrow_with_hook: Rolled back from `{promoted}` to `{VERSION}`."
    assert ModelStore(store).current() == VERSION
    assert VERSION in classify(slack, "after the rollback").params["text"]


def test_export_status_and_home(slack: FakeSlack, db: Database) -> None:
    answer = admin(slack, "export")
    assert answer.startswith(":incoming_envelope: Sent 1 labelled row as CSV")
    csv, jsonl = slack.wait_for(
        lambda: (u := [u for u in slack.uploads if u.completed]) and len(u) == 2 and u,
        timeout=15,
    )
    assert csv.channel == jsonl.channel == f"D{ADMIN}" and csv.filename.endswith(".csv")
    rows = db.predictions.labelled_rows()
    assert csv.data.decode().splitlines() == ["text,label", *[f"{t},{lab}" for t, lab in rows]]
    assert [tuple(json.loads(line).values()) for line in jsonl.data.decode().splitlines()] == rows

    status = admin(slack, "status")
    assert status == f"Heed is serving model {VERSION}"
    blocks = json.dumps(slack.calls("response_url")[-1].params["blocks"])
    assert "*Running job:* none" in blocks and "failed" in blocks and "promoted" in blocks

    slack.send_event({"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"})
    view = slack.wait_for_call("views.publish", timeout=10).params["view"]
    home = json.dumps(view)
    assert VERSION in home and "Retraining jobs" in home and ":x:" in home and "answers" in home
