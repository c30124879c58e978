"""Two tasks trained from the CLI with ``--task`` into an empty store, then served by one bot
(configured by a ``heed.toml`` in its working directory, with no ``default`` task at all)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv
from tests.e2e.support import BotProcess, bot_env, wait_quiet
from tests.e2e.tasks_support import (
    MODERATION,
    SUPPORT,
    TO_MODERATION,
    TO_SUPPORT,
    classify,
    label_of,
    shortcut,
)
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.e2e


def test_two_tasks_trained_from_the_cli_are_served_by_one_bot(
    fake: FakeSlack, tiny_base: Path, tmp_path: Path
) -> None:
    """What an operator does: ``python -m training train --task NAME`` twice into an empty
    store, a ``heed.toml`` naming both (no ``default`` task at all), then one bot serving
    both."""
    root = tmp_path / "models"
    env = bot_env(HEED_MODEL_DIR=str(root))
    mod_rows = [(t, TO_MODERATION[lb]) for t, lb in make_rows(10)]
    sup_rows = [(t, TO_SUPPORT[lb]) for t, lb in make_rows(10)]
    for task, rows in (("moderation", mod_rows), ("support", sup_rows)):
        data = write_csv(tmp_path / f"{task}.csv", rows)
        args = ["--data", str(data), "--task", task, "--promote", "--base", str(tiny_base)]
        args += ["--epochs", "1", "--batch-size", "8", "--max-length", "32", "--json"]
        done = subprocess.run(
            [sys.executable, "-m", "training", "train", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.splitlines()[-1])["promoted"] is True
    listed = subprocess.run(
        [sys.executable, "-m", "classifier", "models", "--task", "support", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(listed.stdout)["current"] == ModelStore(root / "support").current()
    assert ModelStore(root).current() is None  # nothing at the root: no default task
    (tmp_path / "heed.toml").write_text(
        'default_task = "moderation"\n[tasks.moderation]\n'
        '[tasks.support]\nchannels = ["#helpdesk"]\n',
        encoding="utf-8",
    )
    fake.set_channel("C0HELP", "helpdesk")
    env = bot_env(**fake.env(), HEED_MODEL_DIR=str(root), HEED_DATA_DIR=str(tmp_path / "var"))
    bot = BotProcess(env, tmp_path)  # finds ./heed.toml in its working directory
    try:
        bot.wait_until(lambda: fake.connection_count > 0, what="connected")
        wait_quiet(fake, 0.3)
        fake.reset()
        reply = classify(fake, "anything at all", "C1")
        assert label_of(reply.params["text"], MODERATION)
        fake.send_message_event("my card was charged twice", channel_id="C0HELP")
        reaction = fake.wait_for_call("reactions.add", timeout=30)
        assert reaction.params["name"] == "label"  # no emoji map: the "*" default
        assert label_of(shortcut(fake, "the page is blank", "C0HELP").params["text"], SUPPORT)
    finally:
        fake.close_connections()
        assert bot.stop() == 0, bot.log()[-3000:]
