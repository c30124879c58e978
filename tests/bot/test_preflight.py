"""The start-up checks that run before torch is imported: each failure one line, the
database closed again (the real process's exit codes: tests/e2e/test_startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slack_bolt import App

from bot.preflight import HOW_TO_TRAIN, StartupError, preflight, slack_errors
from bot.settings import Settings
from bot.slack_api.client import make_client
from tests.e2e.support import free_port, make_store
from tests.support.fakeslack import FakeSlack


def settings_for(models: Path, data: Path, **env: str) -> Settings:
    base = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"}
    return Settings.from_env(
        {**base, "HEED_MODEL_DIR": str(models), "HEED_DATA_DIR": str(data), **env}
    )


def test_a_serving_store_and_an_accepted_token_open_the_database(
    tiny_model: Path, tmp_path: Path, fake: FakeSlack
) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    db = preflight(settings_for(store, tmp_path / "var", **fake.env()), train_default=False)
    try:
        assert db.jobs.recent() == []
    finally:
        db.close()
    assert [c.method for c in fake.calls()] == ["auth.test"]
    assert (tmp_path / "var" / "heed.sqlite3").stat().st_mode & 0o077 == 0


def test_an_empty_store_says_how_to_train_unless_asked_to(tmp_path: Path, fake: FakeSlack) -> None:
    settings = settings_for(tmp_path / "models", tmp_path / "var", **fake.env())
    with pytest.raises(StartupError) as err:
        preflight(settings, train_default=False)
    assert str(err.value) == HOW_TO_TRAIN.format(root=tmp_path / "models")
    assert err.value.code == 2 and fake.calls() == []  # the cheap check first
    preflight(settings, train_default=True).close()


def test_a_rejected_token_is_named_without_its_value(
    tiny_model: Path, tmp_path: Path, fake: FakeSlack
) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    fake.fail_next("auth.test", error="invalid_auth")
    env = fake.env(bot_token="xoxb-revoked-42")
    with pytest.raises(StartupError) as err:
        preflight(settings_for(store, tmp_path / "var", **env), train_default=False)
    assert str(err.value) == "SLACK_BOT_TOKEN was rejected by Slack (auth.test: invalid_auth)"
    assert err.value.code == 2


def test_an_unreachable_slack_is_code_1(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    api = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(StartupError) as err:
        preflight(settings_for(store, tmp_path / "var", SLACK_API_URL=api), train_default=False)
    assert str(err.value).startswith(f"cannot reach the Slack Web API at {api}/: ")
    assert err.value.code == 1


def test_a_broken_database_is_kept(tiny_model: Path, tmp_path: Path) -> None:
    store = make_store(tiny_model, tmp_path / "models")
    db = tmp_path / "var" / "heed.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"not a database\n" * 100)
    with pytest.raises(StartupError, match=r"is not a valid Heed database") as err:
        preflight(settings_for(store, db.parent), train_default=False)
    assert err.value.code == 2 and db.read_bytes() == b"not a database\n" * 100


def test_auth_test_failing_inside_bolt_maps_to_the_same_error(
    tmp_path: Path, fake: FakeSlack
) -> None:
    settings = settings_for(tmp_path / "models", tmp_path / "var", **fake.env())
    fake.fail_next("auth.test", error="account_inactive")
    failing = pytest.raises(StartupError, match=r"\(auth.test: account_inactive\)$")
    with failing, slack_errors(settings):
        App(client=make_client(settings), signing_secret="s")


def test_the_checks_import_no_torch() -> None:
    """The point of the module: a start-up that fails here never pays for torch."""
    code = "import bot.preflight, sys; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
