"""HEED_DATABASE_URL: SQLite in HEED_DATA_DIR by default, PostgreSQL through psycopg 3; a bad
value is one line naming the variable; the password is a secret everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, database_url_from_env

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-secret-bot", "SLACK_APP_TOKEN": "xapp-1-secret-app"}


def test_the_default_is_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    assert Settings.from_env(BASE).database_url == "sqlite:///var/heed.sqlite3"
    data = tmp_path / "d"
    settings = Settings.from_env({**BASE, "HEED_DATA_DIR": str(data)})
    assert settings.database_url == f"sqlite:///{data}/heed.sqlite3"
    assert database_url_from_env({"HEED_DATA_DIR": str(data)}) == settings.database_url


def test_a_postgresql_url_keeps_its_password_secret() -> None:
    url = "postgresql+psycopg://heed:s3cret-pw@db.internal:5432/heed"
    settings = Settings.from_env({**BASE, "HEED_DATABASE_URL": url})
    assert settings.database_url == url
    assert "s3cret-pw" in settings.secrets() and "s3cret-pw" not in repr(settings)
    plain = Settings.from_env({**BASE, "HEED_DATABASE_URL": "postgresql://h@db/heed"})
    assert plain.database_url == "postgresql+psycopg://h@db/heed"  # psycopg 3 is the driver
    assert plain.secrets() == ["xoxb-1-secret-bot", "xapp-1-secret-app"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://heed:s3cret-pw@db/heed", "must be sqlite:///PATH or postgresql+psycopg://"),
        ("postgresql+psycopg://heed:s3cret-pw@db:5432", "names no database"),
        ("sqlite://", "names no database"),
        ("s3cret-pw", "must be a URL like"),
    ],
)
def test_bad_urls_name_the_variable_and_hide_the_password(value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**BASE, "HEED_DATABASE_URL": value})
    text = str(info.value)
    assert text.startswith(f"HEED_DATABASE_URL {message}") and "\n" not in text
    assert "s3cret-pw" not in text and info.value.variable == "HEED_DATABASE_URL"
