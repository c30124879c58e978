""".env.example lists every variable of docs/configuration.md at its default: copying it changes
nothing until edited."""

from __future__ import annotations

from pathlib import Path

from bot.setting_table import BY_VARIABLE, read
from bot.settings import Settings
from tests.bot.test_configuration_reference import documented_variables
from tests.conftest import REPO

BASE = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"}
NOT_IN_THE_FILE = {"HEED_ENV_FILE", "HEED_DATASETS"}
"""Which file is read cannot be set inside it; the benchmarks' datasets are no setting of Heed."""


def example() -> dict[str, str]:
    values = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_every_documented_variable_is_in_the_example() -> None:
    assert set(example()) == documented_variables() - NOT_IN_THE_FILE


def test_each_value_set_is_the_default() -> None:
    for name, value in example().items():
        if value:  # an empty value means "the default" to every entry point
            assert read({name: value}, name) == BY_VARIABLE[name].default_value(), name


def test_copying_the_example_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./heed.toml
    values = {k: v for k, v in example().items() if not k.startswith("SLACK_")}
    assert Settings.from_env({**BASE, **values}) == Settings.from_env(BASE)


def test_thread_notes_and_extra_training_data_are_off_as_documented() -> None:
    values = example()
    assert values["HEED_AUTOTAG_NOTIFY"] == "" and values["HEED_TRAIN_DATA"] == ""
    assert Settings(bot_token="xoxb-x", app_token="xapp-x").autotag_notify == frozenset()
