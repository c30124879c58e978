"""Start-up of the real process: a rejected token, an unreachable Slack, a broken database,
and ``--train-default`` on an empty store (through the same runner as ``/heed-admin retrain``)."""

from __future__ import annotations

import json
import shlex
from contextlib import closing
from pathlib import Path

import pytest

from bot.blocks.admin import FALLBACK_NOTE
from bot.database import Database
from classifier.store import ModelStore
from tests.e2e.support import VERSION, BotProcess, bot_env, free_port, make_store, run_bot
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.e2e


def test_a_rejected_token_stops_start_up(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    with FakeSlack() as fake:
        fake.fail_next("auth.test", error="invalid_auth")
        done = run_bot(
            bot_env(**fake.env(bot_token="xoxb-revoked-42"), HEED_MODEL_DIR=str(store)), tmp_path
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: SLACK_BOT_TOKEN was rejected by Slack (auth.test: invalid_auth)"
    )
    assert "xoxb-revoked-42" not in done.stderr + done.stdout


def test_an_unreachable_slack_exits_1(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    env = bot_env(
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api",
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_APP_TOKEN="xapp-x",
        HEED_MODEL_DIR=str(store),
    )
    done = run_bot(env, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "error: cannot reach the Slack Web API at http://127.0.0.1:" in done.stderr


def test_a_broken_database_stops_start_up_and_is_kept(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    db = tmp_path / "var" / "heed.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database, just some bytes that happen to be here\n" * 20)
    before = db.read_bytes()
    env = bot_env(
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api",
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_APP_TOKEN="xapp-x",
        HEED_MODEL_DIR=str(store),
        HEED_DATA_DIR=str(db.parent),
    )
    done = run_bot(env, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {db} is not a valid Heed database")
    assert db.read_bytes() == before  # never replaced


def test_train_default_runs_the_training_child_then_serves(tiny_base: Path, tmp_path: Path) -> None:
    store = tmp_path / "models"
    with FakeSlack() as fake:
        env = bot_env(
            **fake.env(),
            HEED_MODEL_DIR=str(store),
            HEED_DATA_DIR=str(tmp_path / "var"),
            HEED_BASE_MODEL=str(tiny_base),
            HEED_RETRAIN_ARGS="--epochs 1 --batch-size 32 --max-length 32",
        )
        bot = BotProcess(env, tmp_path / "bot", ("--train-default",))
        try:
            bot.wait_until(lambda: fake.connection_count > 0, what="connected", timeout=240)
        finally:
            fake.close_connections()
            assert bot.stop() == 0, bot.log()[-3000:]
    current = ModelStore(store).current()
    assert current is not None
    log = bot.log()
    assert "training the default model: training on 2957 rows" in log
    assert f"serving model {current}" in log
    with closing(Database(tmp_path / "var" / "heed.sqlite3")) as db:
        [job] = db.jobs.recent()
    assert (job.requested_by, job.status, job.version, job.promoted) == (
        "--train-default",
        "succeeded",
        current,
        True,
    )


def test_a_failed_train_default_stops_start_up_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-base"
    with FakeSlack() as fake:
        env = bot_env(
            **fake.env(),
            HEED_MODEL_DIR=str(tmp_path / "models"),
            HEED_DATA_DIR=str(tmp_path / "var"),
            HEED_RETRAIN_ARGS=f"--base {shlex.quote(str(missing))} --epochs 1",
        )
        done = run_bot(env, tmp_path, "--train-default")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: training the default model failed (job 1): ")
    assert "the base model cannot be loaded" in last
    assert ModelStore(tmp_path / "models").current() is None


def test_an_unloadable_current_falls_back_and_says_so(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    broken = "20260202-000000-badbad"
    (store / broken).mkdir()
    (store / broken / "config.json").write_text("{ this is not json", encoding="utf-8")
    (store / "history.json").write_text(json.dumps([VERSION, broken]), encoding="utf-8")
    (store / "current").write_text(broken + "\n", encoding="utf-8")
    with FakeSlack() as fake:
        env = bot_env(**fake.env(), HEED_MODEL_DIR=str(store), HEED_DATA_DIR=str(tmp_path / "var"))
        bot = BotProcess(env, tmp_path / "bot")
        try:
            bot.wait_until(lambda: fake.connection_count > 0, what="connected")
            fake.send_event({"type": "app_home_opened", "user": "U3", "tab": "home"})
            view = fake.wait_for_call("views.publish", timeout=15).params["view"]
        finally:
            fake.close_connections()
            assert bot.stop() == 0, bot.log()[-3000:]
    note = f"the current model {broken} cannot be loaded"
    assert note in bot.log() and f"serving {VERSION}" in bot.log()
    assert f"serving model {VERSION}" in bot.log()
    shown = json.dumps(view)  # U3 is not an admin: the fact, not the server's details
    assert FALLBACK_NOTE in shown and ":warning:" in shown and note not in shown
    assert ModelStore(store).current() == broken  # left for an operator
