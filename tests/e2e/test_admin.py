"""The real bot process against the fake Slack: feedback, and /heed-admin retrain (the real
training CLI on the tiny model), rollback, export, status and the Home tab.

The tests run in file order on one bot: a feedback answer, a refused non-admin, a job that fails
on a bad export, an admin retrain that promotes a new version (with a second retrain refused
while it runs), a rollback to the first version, then export, status and the Home tab.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PIL import Image

from bot.feedback import FeedbackStore
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

pytestmark = pytest.mark.e2e

ADMIN, MEMBER = "UADMIN", "UMEMBER"
FEEDBACK_BLOCK = "heed_feedback"
JOB_S = 150.0  # a real training child on the tiny model: ~15 s here, generous for slow CI


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


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
def bot(
    fake: FakeSlack, store: Path, workdir: Path, train_data: Path, tiny_base: Path
) -> Iterator[BotProcess]:
    yield from start_socket_bot(
        fake,
        store,
        workdir / "bot",
        HEED_ADMINS=ADMIN,
        HEED_TRAIN_DATA=str(train_data),
        HEED_RETRAIN_ARGS=(
            f"--base {shlex.quote(str(tiny_base))} --epochs 1 --batch-size 8 --max-length 32"
        ),
        HEED_RETRAIN_TIMEOUT="300",
    )


@pytest.fixture
def slack(fake: FakeSlack, bot: BotProcess) -> FakeSlack:
    wait_quiet(fake, 0.3)
    fake.reset()
    return fake


@pytest.fixture
def db(workdir: Path, bot: BotProcess) -> Iterator[FeedbackStore]:
    """The bot's database, opened beside it (WAL: readers do not block the bot)."""
    with closing(FeedbackStore(workdir / "bot" / "var" / "heed.sqlite3")) as store:
        yield store


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


def test_feedback_is_stored_and_the_reply_updated(slack: FakeSlack, db: FeedbackStore) -> None:
    reply = classify(slack, "the cable arrived on tuesday")
    [actions] = [b for b in reply.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK]
    confirm, select = actions["elements"]
    prediction_id = int(confirm["value"])
    predicted = db.prediction(prediction_id).label
    envelope = slack.send_block_action(
        confirm["action_id"],
        confirm["value"],
        user_id="U2",
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK,
    )
    assert slack.wait_for_ack(envelope, timeout=5).latency < 3
    update = slack.wait_for_call("chat.update", timeout=15)
    assert update.params["ts"] == reply.response["ts"]
    assert f"Recorded: {predicted} by <@U2>" in json.dumps(update.params["blocks"])

    other = next(o for o in select["options"] if o["text"]["text"] != predicted)
    slack.send_block_action(
        select["action_id"],
        user_id="U3",
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK,
        selected_option=other,
    )
    slack.wait_for(lambda: len(slack.calls("chat.update")) == 2, timeout=15)
    body = json.dumps(slack.calls("chat.update")[-1].params["blocks"])
    assert "<@U2>" in body and f"Recorded: {other['text']['text']} by <@U3>" in body
    answers = [(a.user, a.chosen_label) for a in db.feedback_for(prediction_id)]
    assert answers == [("U2", predicted), ("U3", other["text"]["text"])]
    stored = db.prediction(prediction_id)
    assert (stored.model_version, stored.message_ts) == (VERSION, reply.response["ts"])


def test_a_non_admin_retrain_is_refused_audited_and_changes_nothing(
    slack: FakeSlack, store: Path, db: FeedbackStore
) -> None:
    answer = admin(slack, "retrain", user=MEMBER)
    assert "Only Heed admins" in answer
    time.sleep(0.5)
    assert not slack.calls("chat.postMessage")
    entry = db.audit_log(1)[0]
    assert (entry.user, entry.action, entry.allowed) == (MEMBER, "retrain", False)
    assert db.recent_jobs() == [] and ModelStore(store).current() == VERSION


def test_a_failing_job_leaves_the_version_and_says_why(
    slack: FakeSlack, store: Path, train_data: Path, db: FeedbackStore
) -> None:
    good = train_data.read_bytes()
    write_csv(train_data, make_rows(10), header=("text", "category"))
    try:
        slack.send_slash_command("/heed-admin", "retrain", user_id=ADMIN)
        status_message(slack)
        failure = slack.wait_for_call(
            "chat.postMessage", lambda c: c.params["text"].startswith(":x:"), timeout=JOB_S
        )
    finally:
        train_data.write_bytes(good)
    line = failure.params["text"]
    assert "\n" not in line and "failed: " in line
    assert "train.csv:1: missing column 'label'" in line and "unchanged" in line
    assert ModelStore(store).current() == VERSION
    assert db.recent_jobs(1)[0].status == "failed"


def test_an_admin_retrain_reports_progress_promotes_and_swaps(
    slack: FakeSlack, store: Path, bot: BotProcess, db: FeedbackStore
) -> None:
    slack.send_slash_command("/heed-admin", "retrain", user_id=ADMIN)
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
    assert f"serving model {new}" in bot.log()
    assert new in classify(slack, "after the retrain").params["text"]
    assert bot.proc.poll() is None  # no restart
    assert db.recent_jobs(1)[0].version == new and db.recent_jobs(1)[0].promoted
    assert [(e.action, e.allowed) for e in db.audit_log(2)] == [("retrain", True)] * 2


def test_rollback_restores_the_previous_version(
    slack: FakeSlack, store: Path, bot: BotProcess
) -> None:
    promoted = ModelStore(store).current()
    answer = admin(slack, "rollback")
    assert answer == f":leftwards_arrow_with_hook: Rolled back from `{promoted}` to `{VERSION}`."
    assert ModelStore(store).current() == VERSION
    assert VERSION in classify(slack, "after the rollback").params["text"]


def test_export_status_and_home(slack: FakeSlack, db: FeedbackStore) -> None:
    answer = admin(slack, "export")
    assert answer.startswith(":incoming_envelope: Sent 1 labelled row as CSV")
    [csv] = slack.wait_for(lambda: [u for u in slack.uploads if u.completed], timeout=15)
    assert csv.channel == f"D{ADMIN}" and csv.filename.endswith(".csv")
    assert csv.data.decode().splitlines() == [
        "text,label",
        *[f"{t},{lab}" for t, lab in db.corrections()],
    ]

    status = admin(slack, "status")
    assert status == f"Heed is serving model {VERSION}"
    blocks = json.dumps(slack.calls("response_url")[-1].params["blocks"])
    assert "*Running job:* none" in blocks and "failed" in blocks and "promoted" in blocks

    slack.send_event({"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"})
    view = slack.wait_for_call("views.publish", timeout=10).params["view"]
    home = json.dumps(view)
    assert VERSION in home and "Retraining jobs" in home and ":x:" in home and "answers" in home
