"""Each kind reads an environment variable's text and a heed.toml value through the same read;
the objects built without any setting have the table's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.setting_table import TASK_KEYS
from bot.settings import Settings
from bot.tasks import Task


def test_the_defaults_of_the_table_are_those_of_the_objects(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./heed.toml
    tokens = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    read = Settings.from_env(tokens)
    built = Settings(bot_token="xoxb-1", app_token="xapp-1", database_url=read.database_url)
    assert read == built and read.database_url == "sqlite:///var/heed.sqlite3"
    task = Task("default", Path("models"))
    assert read.tasks.default == task and task.emoji_for("positive") == "+1"


def test_a_task_key_reads_the_same_from_text_and_from_toml(tmp_path: Path) -> None:
    export = tmp_path / "a.csv"
    export.write_text("text,label\n", encoding="utf-8")
    same = {
        "channels": ("C0123ABCD, #Support", ["C0123ABCD", "#Support"]),
        "label_emoji": ("bug=:beetle:, *=", {"bug": ":beetle:", "*": ""}),
        "notify": ("bug,spam", ["bug", "spam"]),
        "threshold": ("spam=0.9, *=0.75", {"spam": 0.9, "*": 0.75}),
        "mode": ("Suggest", "suggest"),
        "abstain_below": ("0.4", 0.4),
        "not_sure_emoji": (":thinking_face:", "thinking_face"),
        "review_channel": ("C0REVIEW", "C0REVIEW"),
        "thread_note": ("false", False),
        "explain_method": ("Rollout", "Rollout"),
        "train_data": (str(export), [str(export)]),
        "eval_data": (str(export), [str(export)]),
        "admins": ("U1, W2", ["U1", "W2"]),
        "labelers": ("U1,S0HR", ["U1", "S0HR"]),
    }
    assert set(same) == set(TASK_KEYS)
    for key, (text, toml) in same.items():
        kind = TASK_KEYS[key].kind
        assert kind.read(text) == kind.read(toml), key


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("threshold", True, "must be a number between 0 and 1, got 'True'"),
        ("threshold", 1.5, "must be a number between 0 and 1, got '1.5'"),
        ("threshold", {"spam": 2}, "must give 'spam' a number between 0 and 1, got '2'"),
        ("threshold", {"spam": "high"}, "must give 'spam' a number between 0 and 1"),
        ("threshold", "spam=0.9,=0.5", "must be label=number pairs like 'spam=0.9,\\*=0.75'"),
        ("threshold", [0.5], "must be a number between 0 and 1"),
        ("mode", "yolo", "must be act or suggest, got 'yolo'"),
        ("abstain_below", -0.1, "must be a number between 0 and 1"),
        ("not_sure_emoji", "not an emoji!", "must be an emoji name like thinking_face"),
        ("review_channel", "#review", "must be a channel ID like C0123ABCD, got '#review'"),
        ("thread_note", "maybe", "must be true or false, got 'maybe'"),
        ("channels", 5, "must be a list of strings"),
        ("notify", ["a", 1], "must be a list of strings"),
        ("label_emoji", ["bug"], 'must be a table of label = "emoji"'),
        ("label_emoji", {"": "x"}, "must be label=emoji pairs"),
        ("explain_method", 3, "must be a string"),
        (
            "explain_method",
            "shap",
            "must be one of attention, rollout, gradient, gradient-upper, attn-grad, attn-grad-mix",
        ),
        ("train_data", ["/nonexistent/x.csv"], "must list existing files"),
    ],
)
def test_a_bad_toml_value_is_one_problem(key: str, value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{problem}"):
        TASK_KEYS[key].kind.read(value)


def test_thresholds_per_label_with_a_default() -> None:
    kind = TASK_KEYS["threshold"].kind
    table = kind.read({"harassment": 0.6, "spam": 0.9, "*": 0.75})
    assert (table.of("harassment"), table.of("spam"), table.of("ok")) == (0.6, 0.9, 0.75)
    assert kind.read({"spam": 0.9}).of("ok") == 0.8  # no "*": the variable's default
    assert kind.read("0.7") == kind.read(0.7) and kind.read(0.7).of("anything") == 0.7
