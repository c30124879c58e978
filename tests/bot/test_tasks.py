"""Tasks from heed.toml or the environment: validated, one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.setting_kinds import Thresholds
from bot.settings import Settings, SettingsError
from tests.conftest import REPO

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-secret-bot", "SLACK_APP_TOKEN": "xapp-1-secret-app"}

TWO_TASKS = """
default_task = "moderation"

[tasks.moderation]
label_emoji = { harassment = "rotating_light", "*" = "" }
notify = ["harassment"]
threshold = 0.6

[tasks.support]
channels = ["#Support", "C0123ABCD"]
explain_method = "gradient"
"""


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "heed.toml"
    path.write_text(text, encoding="utf-8")
    return {**BASE, "HEED_CONFIG": str(path), "HEED_MODEL_DIR": str(tmp_path / "models")}


def test_environment_is_the_single_default_task(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./heed.toml here
    env = {**BASE, "HEED_AUTOTAG_CHANNELS": "#general", "HEED_AUTOTAG_THRESHOLD": "0.5"}
    tasks = Settings.from_env(env).tasks
    assert tasks.names == ["default"]
    task = tasks.default
    assert task.model_dir == Path("models") and task.channels == ("#general",)
    assert task.threshold == Thresholds(0.5) and task.emoji_for("positive") == "+1"


def test_two_tasks_from_the_file(tmp_path: Path) -> None:
    settings = Settings.from_env(write(tmp_path, TWO_TASKS))
    tasks = settings.tasks
    assert tasks.names == ["moderation", "support"] and tasks.default.name == "moderation"
    moderation, support = tasks.by_name["moderation"], tasks.by_name["support"]
    assert moderation is not None and support is not None
    assert moderation.model_dir == tmp_path / "models" / "moderation"
    assert moderation.emoji_for("harassment") == "rotating_light"
    assert moderation.emoji_for("ok") is None
    assert moderation.should_notify("harassment", 0.7)
    assert not moderation.should_notify("harassment", 0.5)
    assert support.channels == ("#support", "C0123ABCD")
    assert support.explain_method == "gradient" and support.threshold == Thresholds(0.8)


def test_the_default_task_stays_at_the_root(tmp_path: Path) -> None:
    env = write(tmp_path, '[tasks.default]\n[tasks.support]\nchannels = ["#support"]\n')
    tasks = Settings.from_env(env).tasks
    assert tasks.default.name == "default" and tasks.default.model_dir == tmp_path / "models"


def test_channels_and_exports_are_not_inherited(tmp_path: Path) -> None:
    export = tmp_path / "a.csv"
    export.write_text("text,label\n", encoding="utf-8")
    env = write(tmp_path, "[tasks.a]\n[tasks.b]\n")
    env |= {"HEED_AUTOTAG_CHANNELS": "#x", "HEED_TRAIN_DATA": str(export)}
    env |= {"HEED_AUTOTAG_THRESHOLD": "0.3"}
    tasks = Settings.from_env(env).tasks
    assert all(t.channels == () and t.train_data == () for t in tasks)
    assert all(t.threshold == Thresholds(0.3) for t in tasks)


def test_acting_keys_per_task_with_their_variables_as_defaults(tmp_path: Path) -> None:
    text = (
        '[tasks.a]\nmode = "suggest"\nabstain_below = 0.4\nreview_channel = "C0REVIEW"\n'
        'thread_note = false\nnot_sure_emoji = ":thinking_face:"\nnotify = ["spam", "harassment"]\n'
        'threshold = { harassment = 0.6, spam = 0.9, "*" = 0.75 }\n[tasks.b]\n'
    )
    env = write(tmp_path, text) | {"HEED_AUTOTAG_MODE": "act", "HEED_REVIEW_CHANNEL": "C0ALL"}
    a, b = Settings.from_env(env).tasks
    assert (a.mode, a.abstain_below, a.review_channel) == ("suggest", 0.4, "C0REVIEW")
    assert not a.thread_note and a.not_sure_emoji == "thinking_face"
    assert a.should_notify("harassment", 0.65) and not a.should_notify("spam", 0.85)
    assert a.abstains(0.39) and not a.abstains(0.4)
    assert (b.mode, b.abstain_below, b.review_channel, b.thread_note) == ("act", 0.0, "C0ALL", True)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[tasks.Bad]\nchannels = ["#a"]\n', "tasks.Bad"),
        ("[tasks.current]\n", "tasks.current"),
        ("[tasks.a]\nthreshold = 2\n", "tasks.a.threshold"),
        ('[tasks.a]\nthreshold = "x"\n', "tasks.a.threshold"),
        ("[tasks.a]\nthreshold = { spam = 1.5 }\n", "tasks.a.threshold"),
        ('[tasks.a]\nmode = "auto"\n', "tasks.a.mode"),
        ('[tasks.a]\nreview_channel = "#review"\n', "tasks.a.review_channel"),
        ("[tasks.a]\nchannels = 5\n", "tasks.a.channels"),
        ('[tasks.a]\nchannels = ["#a b!"]\n', "tasks.a.channels"),
        ('[tasks.a]\nexplain_method = "magic"\n', "tasks.a.explain_method"),
        ('[tasks.a]\ntrain_data = ["missing.csv"]\n', "tasks.a.train_data"),
        ('[tasks.a]\nlabel_emoji = { x = "no spaces" }\n', "tasks.a.label_emoji"),
        ("[tasks.a]\ncolour = 1\n", "tasks.a.colour"),
        ('[tasks.a]\nchannels = ["#x"]\n[tasks.b]\nchannels = ["#x"]\n', "tasks.b.channels"),
        ('default_task = "nope"\n[tasks.a]\n', "default_task"),
        ("mystery = 1\n[tasks.a]\n", "mystery"),
        ("", "tasks"),
        ("[tasks\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message and key in message and "heed.toml" in message
    assert "secret" not in message


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^HEED_CONFIG must name a file"):
        Settings.from_env({**BASE, "HEED_CONFIG": str(tmp_path / "none.toml")})


def test_the_example_file_is_valid(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    for name in ("moderation.csv", "moderation-heldout.csv", "support.csv"):
        (tmp_path / "data" / name).write_text("text,label\n", encoding="utf-8")
    env = {**BASE, "HEED_CONFIG": str(REPO / "heed.toml.example")}
    tasks = Settings.from_env(env).tasks
    assert tasks.names == ["moderation", "support", "hr"] and tasks.default.name == "moderation"
    assert tasks.default.emoji_for("ok") is None
    assert tasks.by_name["support"].channels == ("#support", "C0123ABCD")
    assert tasks.by_name["hr"].labelers == {"U0HRPARTNER", "S0HRTEAM"}


def test_a_task_may_list_its_own_admins_and_labelers(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        '[tasks.default]\n[tasks.hr]\nadmins = ["UHRLEAD"]\nlabelers = ["UHR", "S0HRTEAM"]\n',
    )
    env |= {"HEED_ADMINS": "UADMIN", "HEED_LABELERS": "ULAB"}
    tasks = Settings.from_env(env).tasks
    hr, default = tasks.by_name["hr"], tasks.default
    assert (hr.admins, hr.labelers) == ({"UHRLEAD"}, {"UHR", "S0HRTEAM"})
    assert (default.admins, default.labelers) == (None, None)  # HEED_ADMINS', HEED_LABELERS'
    bad = write(tmp_path, '[tasks.hr]\nlabelers = ["#hr"]\n')
    with pytest.raises(SettingsError, match=r"tasks\.hr\.labelers must list Slack user IDs"):
        Settings.from_env(bad)
