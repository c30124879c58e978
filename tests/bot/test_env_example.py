""".env.example matches the documented defaults: copying it changes nothing until edited."""

from __future__ import annotations

import re

from bot.settings import Settings
from tests.conftest import REPO

ROW = re.compile(r"^\| `(?P<name>[A-Z0-9_]+)` \| [^|]+ \| (?P<default>[^|]+) \|", re.MULTILINE)


def example() -> dict[str, str]:
    values = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def documented() -> dict[str, str]:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text[text.index("## Settings") :]
    return {m["name"]: m["default"].strip() for m in ROW.finditer(table)}


def test_every_variable_is_documented_and_set_values_are_the_defaults() -> None:
    values, defaults = example(), documented()
    assert values and set(values) <= set(defaults), set(values) - set(defaults)
    for name, value in values.items():
        if value:  # an empty value means "the default" to every entry point
            assert defaults[name] == f"`{value}`", (name, value, defaults[name])


def test_thread_notes_and_extra_training_data_are_off_as_documented() -> None:
    values = example()
    assert values["HEED_AUTOTAG_NOTIFY"] == "" and values["HEED_TRAIN_DATA"] == ""
    assert Settings(bot_token="xoxb-x", app_token="xapp-x").autotag_notify == frozenset()
