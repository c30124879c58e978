"""Start-up failures of the real process: a rejected token, an unreachable Slack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.support import bot_env, free_port, make_store
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.e2e


def run(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=cwd, capture_output=True, text=True, timeout=90
    )


def test_a_rejected_token_stops_start_up(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    with FakeSlack() as fake:
        fake.fail_next("auth.test", error="invalid_auth")
        done = run(
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
    done = run(env, tmp_path)
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
    done = run(env, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {db} is not a valid Heed database")
    assert db.read_bytes() == before  # never replaced
