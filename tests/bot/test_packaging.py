"""An installed Heed has every part of the bot: each bot package is listed in pyproject.toml."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_bot_package_is_installed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "bot").rglob("__init__.py")
    }
    assert {"bot", "bot.listeners", "bot.retrain"} <= packages
    assert packages - listed == set()
