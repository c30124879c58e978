"""``.env`` everywhere: ``python -m classifier`` and ``python -m training`` (``demo`` too)
read it the way the bot does (the environment wins), so they all use one model store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.__main__ import main as classifier_main
from classifier.cli_support import ENV_FILE_ENV, configure, load_env
from classifier.store import ModelStore
from tests.conftest import REPO, last_json
from training.__main__ import main as training_main

VERSION = "20260101-000000-abcdef"
NAMES = ("HEED_MODEL_DIR", "HEED_X_ONE", "HEED_X_TWO", "HEED_X_EMPTY", "SLACK_BOT_TOKEN")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Run in ``tmp_path`` with the variables the tests write restored (absent) afterwards
    and no ``$HEED_ENV_FILE``, so ``./.env`` is what the CLIs read."""
    for name in (*NAMES, ENV_FILE_ENV):
        monkeypatch.setenv(name, "")  # recorded, so load_env's writes are undone later
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_the_environment_wins_and_missing_files_are_fine(clean_env, tmp_path: Path) -> None:
    env = tmp_path / "custom.env"
    env.write_text(
        "HEED_X_ONE=from-file\nHEED_X_TWO='quoted # not a comment'\nHEED_X_EMPTY=file\n"
        "SLACK_BOT_TOKEN=xoxb-secret\n"
    )
    clean_env.setenv("HEED_X_ONE", "from-env")
    clean_env.setenv("HEED_X_EMPTY", "")
    assert load_env(env, skip_prefixes=("SLACK_",)) == env
    assert os.environ["HEED_X_ONE"] == "from-env"
    assert os.environ["HEED_X_TWO"] == "quoted # not a comment"
    assert os.environ["HEED_X_EMPTY"] == ""  # set, even empty: the environment still wins
    assert "SLACK_BOT_TOKEN" not in os.environ
    assert load_env(tmp_path / "missing.env") is None
    assert load_env() is None  # no ./.env here


def test_heed_env_file_names_the_file_and_an_argument_beats_it(clean_env, tmp_path) -> None:
    (tmp_path / "a.env").write_text("HEED_X_ONE=a\n")
    (tmp_path / "b.env").write_text("HEED_X_TWO=b\n")
    clean_env.setenv(ENV_FILE_ENV, str(tmp_path / "a.env"))
    assert load_env() == tmp_path / "a.env" and os.environ["HEED_X_ONE"] == "a"
    assert load_env(tmp_path / "b.env") == tmp_path / "b.env" and os.environ["HEED_X_TWO"] == "b"


def test_the_clis_never_take_slack_credentials_from_dotenv(clean_env, tmp_path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-secret\nHEED_X_ONE=yes\n")
    configure()
    assert os.environ["HEED_X_ONE"] == "yes" and "SLACK_BOT_TOKEN" not in os.environ


def test_classifier_models_and_predict_use_the_dotenv_store(
    clean_env, tmp_path, tiny_model, capsys
) -> None:
    store = tmp_path / "elsewhere"
    shutil.copytree(tiny_model, store / VERSION)
    (store / "current").write_text(VERSION + "\n")
    (tmp_path / ".env").write_text(f"HEED_MODEL_DIR={store}\n")
    assert classifier_main(["models", "--json"]) == 0
    listing = last_json(capsys.readouterr().out)
    assert listing["root"] == str(store) and listing["current"] == VERSION
    assert classifier_main(["predict", "fine", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["model"] == VERSION


def test_training_train_and_demo_use_the_dotenv_store(
    clean_env, tmp_path, tiny_base, tiny_model, export, capsys
) -> None:
    store = tmp_path / "elsewhere"
    (tmp_path / ".env").write_text(f"HEED_MODEL_DIR={store}\n")
    args = ["train", "--data", str(export), "--base", str(tiny_base), "--json"]
    assert training_main([*args, "--epochs", "1", "--max-length", "32"]) == 0
    version = last_json(capsys.readouterr().out)["version"]
    assert ModelStore(store).versions() == [version]
    # `make demo` is `python -m training demo`: with a model serving there it only draws.
    shutil.copytree(tiny_model, store / VERSION)
    ModelStore(store).promote(VERSION)
    clean_env.delenv("HEED_MODEL_DIR")
    assert training_main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"Model {VERSION}" in out and (tmp_path / "out" / "example-1.png").is_file()


def test_a_real_process_reads_dotenv_from_its_working_directory(tmp_path, tiny_model) -> None:
    store = tmp_path / "elsewhere"
    shutil.copytree(tiny_model, store / VERSION)
    (store / "current").write_text(VERSION + "\n")
    (tmp_path / ".env").write_text(f"HEED_MODEL_DIR={store}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HEED_MODEL_DIR", ENV_FILE_ENV)}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "classifier", "models", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert last_json(done.stdout)["versions"][0]["version"] == VERSION
