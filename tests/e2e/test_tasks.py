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
JOB_S = 150.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tasks-bot")


@pytest.fixture(scope="module")
def store(tiny_base: Path, workdir: Path) -> Path:
    """Today's store at the root (moderation labels), the support task's under it."""
    root = make_store(tiny_classifier(tiny_base, workdir / "mod", MODERATION), workdir / "models")
    make_store(tiny_classifier(tiny_base, workdir / "sup", SUPPORT), root / "support")
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
        f"train_data = [{json.dumps(str(support_data))}]\n",
        encoding="utf-8",
    )
    fake.set_channel(SUPPORT_CHANNEL, "support")
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
    assert "unknown task 'nope': use one of default, support" in json.dumps(ack.payload)


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


def _predictions(db: Database) -> list:
    rows, pid = [], 1
    while (row := db.predictions.get(pid)) is not None:
        rows.append(row)
        pid += 1
    return rows
