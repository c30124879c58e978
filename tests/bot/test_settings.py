"""Settings validation: each bad value is one line naming the variable, never a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.setting_kinds import Thresholds
from bot.settings import Settings, SettingsError
from tests.conftest import REPO

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-secret-bot", "SLACK_APP_TOKEN": "xapp-1-secret-app"}


def load(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults_in_socket_mode(tmp_path: Path) -> None:
    s = load()
    assert s.socket_mode and s.signing_secret is None and s.api_url is None
    assert s.model_dir == Path("models") and s.data_dir == Path("var")
    assert s.autotag_channels == () and s.autotag_threshold == Thresholds(0.8)
    assert s.explain_method == "attn-grad-mix" and not s.private_replies
    assert not s.admins_from_workspace and s.device == "auto" and s.log_level == "INFO"
    assert s.retrain_timeout == 3600.0 and s.retrain_args == () and s.train_launcher == ()
    assert (s.retention_days, s.keep_versions) == (90, 10)
    assert dict(s.label_emoji) == {
        "*": "label",
        "positive": "+1",
        "negative": "-1",
        "neutral": "neutral_face",
    }
    assert (
        s.tasks.default.emoji_for("positive") == "+1"
        and s.tasks.default.emoji_for("refund_request") == "label"
    )
    assert "secret" not in repr(s)


def test_every_value_parsed(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("text,label\n", encoding="utf-8")
    s = load(
        SLACK_API_URL="http://127.0.0.1:9/api",
        HEED_MODEL_DIR=str(tmp_path / "m"),
        HEED_DATA_DIR=str(tmp_path / "d"),
        HEED_BASE_MODEL="prajjwal1/bert-tiny",
        HEED_AUTOTAG_CHANNELS="C0123ABCD, #Support general",
        HEED_ADMINS="U01,W02",
        HEED_ADMINS_FROM_WORKSPACE="yes",
        HEED_LABELERS="U03, S0MODS",
        HEED_RETENTION_DAYS="30",
        HEED_KEEP_VERSIONS="3",
        HEED_RETRAIN_TIMEOUT="90.5",
        HEED_RETRAIN_ARGS="--epochs 1 --base '/models/tiny base' --max-length=32",
        HEED_TRAIN_LAUNCHER="/opt/heed/bin/torchrun --nproc-per-node 2",
        HEED_LABEL_EMOJI="urgent=:rotating_light:, spam=, *=",
        HEED_AUTOTAG_THRESHOLD="0.95",
        HEED_AUTOTAG_NOTIFY="urgent,spam",
        HEED_TRAIN_DATA=str(export),
        HEED_EVAL_DATA=str(export),
        HEED_DEVICE="CUDA:1",
        HEED_PRIVATE_REPLIES="TRUE",
        HEED_EXPLAIN_METHOD="Rollout",
        HEED_LOG_LEVEL="debug",
    )
    assert s.api_url == "http://127.0.0.1:9/api/"
    assert s.autotag_channels == ("C0123ABCD", "#support", "#general")
    assert s.admins == {"U01", "W02"} and s.admins_from_workspace
    assert s.labelers == {"U03", "S0MODS"}
    assert (s.retention_days, s.keep_versions) == (30, 3)
    assert s.retrain_timeout == 90.5
    assert s.retrain_args == ("--epochs", "1", "--base", "/models/tiny base", "--max-length=32")
    assert s.train_launcher == ("/opt/heed/bin/torchrun", "--nproc-per-node", "2")
    assert s.tasks.default.emoji_for("urgent") == "rotating_light"
    assert s.tasks.default.emoji_for("spam") is None and s.tasks.default.emoji_for("other") is None
    assert s.tasks.default.should_notify("urgent", 0.95) and not s.tasks.default.should_notify(
        "urgent", 0.94
    )
    assert not s.tasks.default.should_notify("other", 0.99)
    assert s.train_data == (export,) and s.device == "cuda:1" and s.private_replies
    assert s.eval_data == (export,)
    assert s.explain_method == "rollout" and s.log_level == "DEBUG"
    assert s.secrets() == ["xoxb-1-secret-bot", "xapp-1-secret-app"]


def test_notify_star_means_every_label() -> None:
    s = load(HEED_AUTOTAG_NOTIFY="*", HEED_AUTOTAG_THRESHOLD="0")
    assert s.tasks.default.should_notify("anything", 0.0)


def test_http_mode_needs_the_signing_secret() -> None:
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET is required in HTTP mode"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc123"})
    assert not s.socket_mode and s.signing_secret == "abc123"


BAD = [
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is required"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-secret-value"}, "SLACK_BOT_TOKEN must be a bot token"),
    ({"SLACK_APP_TOKEN": "xoxb-wrong-secret-value"}, "SLACK_APP_TOKEN must be an app-level"),
    ({"SLACK_API_URL": "ftp://example.com"}, "SLACK_API_URL must be an http"),
    ({"SLACK_API_URL": "http://slack.example/api"}, r"SLACK_API_URL must be an https URL \(http"),
    ({"SLACK_API_URL": "http://localhost@evil.example/"}, "SLACK_API_URL must be an https URL"),
    ({"SLACK_API_URL": "http://[::1"}, "SLACK_API_URL must be an http"),
    ({"HEED_AUTOTAG_THRESHOLD": "abc"}, "HEED_AUTOTAG_THRESHOLD must be a number between 0 and 1"),
    ({"HEED_AUTOTAG_THRESHOLD": "1.5"}, "HEED_AUTOTAG_THRESHOLD must be a number between 0 and 1"),
    ({"HEED_AUTOTAG_THRESHOLD": "nan"}, "HEED_AUTOTAG_THRESHOLD must be a number between 0 and 1"),
    ({"HEED_AUTOTAG_CHANNELS": "C1,#bad channel!"}, "HEED_AUTOTAG_CHANNELS must list"),
    ({"HEED_ADMINS": "alice"}, "HEED_ADMINS must list Slack user IDs"),
    ({"HEED_RETENTION_DAYS": "0"}, "HEED_RETENTION_DAYS must be a whole number from 1 to 36500"),
    ({"HEED_RETENTION_DAYS": "1.5"}, "HEED_RETENTION_DAYS must be a whole number from 1 to 36500"),
    ({"HEED_KEEP_VERSIONS": "none"}, "HEED_KEEP_VERSIONS must be a whole number from 1 to 10000"),
    ({"HEED_LABELERS": "U1,@mods"}, "HEED_LABELERS must list Slack user IDs .* or user-group"),
    ({"HEED_LABEL_EMOJI": "positive"}, "HEED_LABEL_EMOJI must be label=emoji pairs"),
    ({"HEED_LABEL_EMOJI": "positive=thumbs up"}, "HEED_LABEL_EMOJI must be label=emoji pairs"),
    ({"HEED_TRAIN_DATA": "/nonexistent/x.csv"}, "HEED_TRAIN_DATA must list existing files"),
    ({"HEED_DEVICE": "tpu"}, "HEED_DEVICE must be auto, cpu, cuda"),
    ({"HEED_PRIVATE_REPLIES": "maybe"}, "HEED_PRIVATE_REPLIES must be true or false"),
    ({"HEED_ADMINS_FROM_WORKSPACE": "2"}, "HEED_ADMINS_FROM_WORKSPACE must be true or false"),
    ({"HEED_EXPLAIN_METHOD": "shap"}, "HEED_EXPLAIN_METHOD must be one of attention"),
    ({"HEED_LOG_LEVEL": "loud"}, "HEED_LOG_LEVEL must be one of DEBUG"),
    ({"HEED_RETRAIN_TIMEOUT": "0"}, "HEED_RETRAIN_TIMEOUT must be a positive number of seconds"),
    ({"HEED_RETRAIN_TIMEOUT": "soon"}, "HEED_RETRAIN_TIMEOUT must be a positive number"),
    ({"HEED_RETRAIN_TIMEOUT": "inf"}, "HEED_RETRAIN_TIMEOUT must be a positive number"),
    ({"HEED_RETRAIN_ARGS": "--base 'unclosed"}, "HEED_RETRAIN_ARGS must be shell-style arguments"),
    ({"HEED_RETRAIN_ARGS": "epochs 1"}, "HEED_RETRAIN_ARGS must start with an option"),
    ({"HEED_RETRAIN_ARGS": "--epochs 1 --data x.csv"}, "HEED_RETRAIN_ARGS must not set --data"),
    ({"HEED_RETRAIN_ARGS": "--progress=bar"}, "HEED_RETRAIN_ARGS must not set --progress"),
    (
        {"HEED_RETRAIN_ARGS": "--dat x.csv"},
        "HEED_RETRAIN_ARGS must not set --dat .short for --data",
    ),
    ({"HEED_RETRAIN_ARGS": "--pro"}, "HEED_RETRAIN_ARGS must not set --pro .short for --promote"),
    ({"HEED_RETRAIN_ARGS": "--eval-data=x.csv"}, "HEED_RETRAIN_ARGS must not set --eval-data"),
    ({"HEED_RETRAIN_ARGS": "--stop-when"}, "HEED_RETRAIN_ARGS must not set --stop-when "),
    (
        {"HEED_RETRAIN_ARGS": "--epochs 1 --bundled-sample"},
        "HEED_RETRAIN_ARGS must not set --bundled-sample",
    ),
    ({"HEED_TRAIN_LAUNCHER": "torchrun '2"}, "HEED_TRAIN_LAUNCHER must be a shell-style"),
    ({"HEED_TRAIN_LAUNCHER": "--nproc-per-node 2"}, "HEED_TRAIN_LAUNCHER must start with a"),
    ({"HEED_TRAIN_LAUNCHER": "torchrun -m training"}, "HEED_TRAIN_LAUNCHER must not name"),
    ({"HEED_LOG_FORMAT": "xml"}, "HEED_LOG_FORMAT must be text or json"),
    ({"HEED_HTTP_THREADS": "0"}, "HEED_HTTP_THREADS must be a whole number from 1 to 256"),
    ({"HEED_HTTP_CONNECTIONS": "many"}, "HEED_HTTP_CONNECTIONS must be a whole number"),
    ({"HEED_HTTP_TIMEOUT": "0.5"}, "HEED_HTTP_TIMEOUT must be between 1 and 600 seconds"),
    ({"HEED_MAX_BODY": "1e9"}, "HEED_MAX_BODY must be a whole number from 1024"),
    ({"HEED_MAX_BODY": "-1"}, "HEED_MAX_BODY must be a whole number from 1024"),
    ({"HEED_JOB_QUEUE": "2"}, "HEED_JOB_QUEUE must be a whole number from 8"),
    ({"HEED_CLASSIFY_PER_MINUTE": "٣"}, "HEED_CLASSIFY_PER_MINUTE must be a whole number"),
    ({"HEED_OPS_PORT": "70000"}, "HEED_OPS_PORT must be a whole number from 0 to 65535"),
]


def test_the_http_face_settings() -> None:
    settings = load(
        HEED_LOG_FORMAT="JSON",
        HEED_HTTP_THREADS="4",
        HEED_HTTP_CONNECTIONS="500",
        HEED_HTTP_TIMEOUT="5",
        HEED_MAX_BODY="65536",
        HEED_JOB_QUEUE="16",
        HEED_CLASSIFY_PER_MINUTE="0",
        HEED_OPS_PORT="9100",
        HEED_OPS_HOST="0.0.0.0",
    )
    assert (settings.log_format, settings.http_threads, settings.http_connections) == (
        "json",
        4,
        500,
    )
    assert (settings.http_timeout, settings.max_body, settings.job_queue) == (5.0, 65536, 16)
    assert settings.classify_per_minute == 0
    assert (settings.ops_port, settings.ops_host) == (9100, "0.0.0.0")
    assert load().ops_port is None and load().max_body == 1 << 20


@pytest.mark.parametrize("env,message", BAD, ids=[next(iter(e)) for e, _ in BAD])
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{message}") as err:
        Settings.from_env({**BASE, **env})
    text = str(err.value)
    assert "\n" not in text and err.value.variable == next(iter(env))
    assert "secret" not in text  # no token/secret value is ever echoed


def test_a_file_where_a_directory_is_expected(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(SettingsError, match=r"^HEED_MODEL_DIR must be a directory"):
        load(HEED_MODEL_DIR=str(tmp_path / "f"))


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HEED_"))}
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env,variable",
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxp-top-secret-value"}, "SLACK_BOT_TOKEN"),
        ({**BASE, "HEED_AUTOTAG_THRESHOLD": "abc"}, "HEED_AUTOTAG_THRESHOLD"),
        ({"SLACK_BOT_TOKEN": "xoxb-top-secret-value"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_python_m_bot_exits_2_with_one_line(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    done = run_bot(env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {variable} "), done.stderr
    assert "top-secret" not in done.stderr + done.stdout and "secret-bot" not in done.stderr


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_APP_TOKEN=xapp-x\nHEED_AUTOTAG_THRESHOLD=abc\n"
    )
    done = run_bot({}, tmp_path)
    assert done.returncode == 2 and "HEED_AUTOTAG_THRESHOLD" in done.stderr
    done = run_bot({"HEED_AUTOTAG_THRESHOLD": "0.5", "HEED_MODEL_DIR": "empty"}, tmp_path)
    assert done.returncode == 2 and "no model is serving" in done.stderr


def test_empty_store_says_how_to_train(tmp_path: Path) -> None:
    done = run_bot({**BASE, "HEED_MODEL_DIR": str(tmp_path / "models")}, tmp_path)
    assert done.returncode == 2
    assert "make demo" in done.stderr and "python -m training train" in done.stderr
    assert "--train-default" in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://slack.example/api/",
        "http://localhost:3000/api/",
        "http://api.localhost/",
        "http://127.0.0.2:9/api/",
        "http://[::1]:9/api/",
    ],
)
def test_slack_api_url_is_https_or_plain_http_to_this_machine(url: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc", "SLACK_API_URL": url}
    assert Settings.from_env(env).api_url == url
