"""Two tasks in one bot, against the fake Slack: the support channel gets support labels,
/classify elsewhere the moderation (default) labels, the shortcut works on any message with
its channel's task, and retraining one task leaves the other's ``current`` untouched.

The default task's store is one made by today's code (a version and ``current`` at the root of
``$HEED_MODEL_DIR``): it keeps serving as ``default`` with ``heed.toml`` added beside it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.database import Database
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv
from tests.e2e.support import (
    VERSION,
    BotProcess,
    make_store,
    start_socket_bot,
    wait_quiet,
)
from tests.e2e.tasks_support import (
    MODERATION,
    SUPPORT,
    TO_SUPPORT,
    classify,
    label_of,
    shortcut,
    tiny_classifier,
)
from tests.support.fakeslack import FakeSlack
from tests.support.retrain import request_retrain

pytestmark = pytest.mark.e2e

ADMIN = "UADMIN"
SUPPORT_EMOJI = {"billing": "moneybag", "bug": "beetle", "how-to": "question", "other": "label"}
SUPPORT_CHANNEL = "C0SUPPORT"
TRIAGE_CHANNEL, REVIEW_CHANNEL, HISTORY_CHANNEL = "C0TRIAGE", "C0REVIEW", "C0HISTORY"
GATE_CHANNEL = "C0GATE"
JOB_S = 150.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tasks-bot")


@pytest.fixture(scope="module")
def store(tiny_base: Path, workdir: Path) -> Path:
    """Today's store at the root (moderation labels), the support task's under it."""
    root = make_store(tiny_classifier(tiny_base, workdir / "mod", MODERATION), workdir / "models")
    make_store(tiny_classifier(tiny_base, workdir / "sup", SUPPORT), root / "support")
    make_store(tiny_classifier(tiny_base, workdir / "tri", MODERATION), root / "triage")
    make_store(tiny_classifier(tiny_base, workdir / "gat", MODERATION), root / "gate")
    return root


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, store: Path, workdir: Path, tiny_base: Path) -> Iterator[BotProcess]:
    rows = [(text, TO_SUPPORT[label]) for text, label in make_rows(10)]
    support_data = write_csv(workdir / "support.csv", rows)
    config = workdir / "heed.toml"
    emoji = ", ".join(f'"{k}" = "{v}"' for k, v in SUPPORT_EMOJI.items())
    config.write_text(
        "[tasks.default]\n"
        'label_emoji = { ok = "white_check_mark", "*" = "warning" }\n\n'
        "[tasks.support]\n"
        f'channels = ["#support"]\nlabel_emoji = {{ {emoji} }}\n'
        f"train_data = [{json.dumps(str(support_data))}]\n\n"
        # a tiny random model is never this sure: every message abstains
        f'[tasks.triage]\nchannels = ["{TRIAGE_CHANNEL}"]\nmode = "suggest"\n'
        f'abstain_below = 0.99\nreview_channel = "{REVIEW_CHANNEL}"\nnotify = ["*"]\n'
        'threshold = { harassment = 0.6, "*" = 0.9 }\n\n'
        # per-label thresholds: every MODERATION[0] message is flagged, no other ever is
        f'[tasks.gate]\nchannels = ["{GATE_CHANNEL}"]\nnotify = ["*"]\n'
        f'threshold = {{ {MODERATION[0]} = 0.0, "*" = 1.0 }}\n',
        encoding="utf-8",
    )
    fake.set_channel(SUPPORT_CHANNEL, "support")
    fake.set_channel(TRIAGE_CHANNEL, "triage")
    fake.set_channel(REVIEW_CHANNEL, "review")
    fake.set_channel(GATE_CHANNEL, "gate")
    yield from start_socket_bot(
        fake,
        store,
        workdir / "bot",
        HEED_CONFIG=str(config),
        HEED_ADMINS=ADMIN,
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
def db(workdir: Path, bot: BotProcess) -> Iterator[Database]:
    with closing(Database(workdir / "bot" / "var" / "heed.sqlite3")) as database:
        yield database


def test_the_support_channel_gets_support_labels(slack: FakeSlack, db: Database) -> None:
    _, ts = slack.send_message_event("I was charged twice this month", channel_id=SUPPORT_CHANNEL)
    reaction = slack.wait_for_call("reactions.add", timeout=30)
    assert reaction.params["timestamp"] == ts
    assert reaction.params["name"] in SUPPORT_EMOJI.values()
    [row] = [p for p in _predictions(db) if p.message_ts == ts]
    assert row.task == "support" and row.label in SUPPORT and row.source == "autotag"
    slack.send_message_event("not a tagged channel", channel_id="C1")
    wait_quiet(slack)
    assert len(slack.calls("reactions.add")) == 1


def test_classify_elsewhere_gets_moderation_labels(slack: FakeSlack, db: Database) -> None:
    reply = classify(slack, "you are all wonderful", "C1")
    assert label_of(reply.params["text"], MODERATION) and VERSION in reply.params["text"]
    picked = classify(slack, "--task support the invoice is wrong", "C1")
    assert label_of(picked.params["text"], SUPPORT)
    assert [p.task for p in _predictions(db)[-2:]] == ["default", "support"]
    envelope = slack.send_slash_command("/classify", "--task nope hi", channel_id="C1")
    ack = slack.wait_for_ack(envelope, timeout=5)
    assert "unknown task 'nope': use one of default, support, triage" in json.dumps(ack.payload)


def test_the_shortcut_works_on_any_message_with_its_channels_task(slack: FakeSlack) -> None:
    there = shortcut(slack, "the app crashes on start", SUPPORT_CHANNEL)
    assert label_of(there.params["text"], SUPPORT)
    elsewhere = shortcut(slack, "buy cheap pills now", "C1")
    assert label_of(elsewhere.params["text"], MODERATION)


def test_retraining_one_task_leaves_the_others_current(
    slack: FakeSlack, store: Path, bot: BotProcess, db: Database
) -> None:
    request_retrain(slack, ADMIN, text="retrain support")
    slack.wait_for_call(
        "chat.postMessage", lambda c: "*Accuracy:*" in json.dumps(c.params.get("blocks")), JOB_S
    )
    support = ModelStore(store / "support").current()
    assert support != VERSION and support in ModelStore(store / "support").versions()
    assert ModelStore(store).current() == VERSION
    assert support not in ModelStore(store).versions()
    assert db.jobs.recent(1)[0].task == "support" and db.jobs.recent(1)[0].promoted
    assert support in classify(slack, "--task support after the retrain", "C1").params["text"]
    assert VERSION in classify(slack, "moderation still", "C1").params["text"]


def test_admin_status_and_home_show_every_task(slack: FakeSlack, store: Path) -> None:
    support = ModelStore(store / "support").current()
    before = len(slack.calls("response_url"))
    slack.send_slash_command("/heed-admin", "status support", user_id=ADMIN)
    answer = slack.wait_for(lambda: slack.calls("response_url")[before:], timeout=30)[0]
    assert f"Heed is serving task support: model {support}" == answer.params["text"]
    slack.send_event({"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"})
    home = json.dumps(slack.wait_for_call("views.publish", timeout=10).params["view"])
    assert "Task `default`" in home and "Task `support`" in home
    assert VERSION in home and support in home and "billing" in home and "harassment" in home


def test_suggest_mode_reviews_and_adds_nothing_to_the_channel(
    slack: FakeSlack, db: Database
) -> None:
    _, ts = slack.send_message_event("is this spam or not", channel_id=TRIAGE_CHANNEL)
    post = slack.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("channel") == REVIEW_CHANNEL, timeout=30
    )
    body = json.dumps(post.params["blocks"], ensure_ascii=False)
    assert "*Not sure*" in body and f"/archives/{TRIAGE_CHANNEL}/p" in body
    assert "Suggest mode: Heed added nothing in the channel" in body
    slack.wait_for(lambda: [u for u in slack.uploads if u.completed], timeout=30)
    assert not slack.calls("reactions.add")
    assert not [c for c in slack.calls("chat.postMessage") if c.params["channel"] != REVIEW_CHANNEL]
    [controls] = [b for b in post.params["blocks"] if b.get("type") == "actions"]
    confirm = controls["elements"][0]
    slack.send_block_action(
        confirm["action_id"],
        confirm["value"],
        user_id=ADMIN,
        channel_id=REVIEW_CHANNEL,
        message_ts=post.response["ts"],
        block_id=controls["block_id"],
    )
    slack.wait_for_call("chat.update", timeout=30)
    [row] = [p for p in _predictions(db) if p.message_ts == ts]
    [answer] = db.predictions.answers_for(row.id)
    assert (row.task, answer.user, answer.role) == ("triage", ADMIN, "admin")
    assert answer.chosen_label == row.label  # confirmed: a trusted labelled row


def test_a_low_confidence_classify_says_not_sure(slack: FakeSlack) -> None:
    reply = classify(slack, "--task triage maybe this, maybe that", "C1")
    assert reply.params["blocks"][0]["text"]["text"].startswith(":grey_question: *Not sure*")
    assert reply.params["text"].startswith("Not sure: ")


def test_a_dry_run_over_500_messages_reports_and_stores_no_text(
    slack: FakeSlack, db: Database
) -> None:
    slack.add_history(HISTORY_CHANNEL, [f"history line {i}" for i in range(500)])
    slack.set_channel(HISTORY_CHANNEL, "history")
    before = len(_predictions(db))
    slack.send_slash_command(
        "/heed-admin", f"dry-run <#{HISTORY_CHANNEL}|history> --messages 500 triage", user_id=ADMIN
    )
    report = slack.wait_for(
        lambda: [c for c in slack.calls("response_url") if ":bar_chart:" in c.params["text"]],
        timeout=90,
        what="the dry-run report",
    )[0]
    assert "500 of 500 messages classified" in report.params["text"]
    body = json.dumps(report.params["blocks"], ensure_ascii=False)
    assert "What each threshold would do" in body and "now" in body
    labels = report.params["blocks"][2]["text"]["text"].strip("`").splitlines()
    assert sum(int(line.split()[1]) for line in labels) == 500  # label, count, share, bar
    assert "history line" in body  # examples, to the admin only
    pages = slack.calls("conversations.history")
    assert [c.params.get("cursor") for c in pages] == [None, "offset:200", "offset:400"]
    assert len(_predictions(db)) == before  # nothing stored
    assert not slack.calls("reactions.add")


def test_per_label_thresholds_decide_per_label(slack: FakeSlack, db: Database) -> None:
    sent = [
        slack.send_message_event(f"message number {i} about {word}", channel_id=GATE_CHANNEL)[1]
        for i, word in enumerate(["fees", "spam", "you fool", "hello", "refund", "win big"])
    ]
    rows = slack.wait_for(
        lambda: len(r := [p for p in _predictions(db) if p.message_ts in sent]) == 6 and r,
        timeout=60,
        what="six auto-tags",
    )
    wait_quiet(slack, 2.0)  # the thread notes, if any, are out
    noted = {c.params.get("thread_ts") for c in slack.calls("chat.postMessage")}
    for row in rows:
        flagged = row.label == MODERATION[0]  # threshold 0 for it, 1 (never) for the rest
        assert (row.message_ts in noted) == flagged, (row.label, row.confidence)
        if flagged:
            [note] = [
                c
                for c in slack.calls("chat.postMessage")
                if c.params["thread_ts"] == row.message_ts
            ]
            assert "≥ threshold 0.00" in json.dumps(note.params["blocks"], ensure_ascii=False)


def _predictions(db: Database) -> list:
    rows, pid = [], 1
    while (row := db.predictions.get(pid)) is not None:
        rows.append(row)
        pid += 1
    return rows
