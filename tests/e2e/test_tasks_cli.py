"""Two tasks trained from the CLI with ``--task`` into an empty store, then served by one bot
(configured by a ``heed.toml`` in its working directory, with no ``default`` task at all).

The CLIs run through their ``main()`` in this process: a training process pays 7 CPU-seconds
of imports before its first row. Their real-process ``--json`` contract is checked once each
in tests/training/test_cli.py; the bot here is the real process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.__main__ import main as classifier_main
from classifier.store import ModelStore
from tests.conftest import last_json, make_rows, write_csv
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
from training.__main__ import main as training_main

pytestmark = pytest.mark.e2e


def test_two_tasks_trained_from_the_cli_are_served_by_one_bot(
    fake: FakeSlack,
    tiny_base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What an operator does: ``python -m training train --task NAME`` twice into an empty
    store, a ``heed.toml`` naming both (no ``default`` task at all), then one bot serving
    both."""
    root = tmp_path / "models"
    monkeypatch.setenv("HEED_MODEL_DIR", str(root))
    mod_rows = [(t, TO_MODERATION[lb]) for t, lb in make_rows(10)]
    sup_rows = [(t, TO_SUPPORT[lb]) for t, lb in make_rows(10)]
    for task, rows in (("moderation", mod_rows), ("support", sup_rows)):
        data = write_csv(tmp_path / f"{task}.csv", rows)
        args = ["--data", str(data), "--task", task, "--promote", "--base", str(tiny_base)]
        args += ["--epochs", "1", "--batch-size", "8", "--max-length", "32", "--json"]
        assert training_main(["train", *args]) == 0, capsys.readouterr().err[-2000:]
        assert last_json(capsys.readouterr().out)["promoted"] is True
    assert classifier_main(["models", "--task", "support", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["current"] == ModelStore(root / "support").current()
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
