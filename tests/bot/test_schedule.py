"""HEED_QUEUE_DIGEST schedules: off, intervals and daily times, their period keys, and clear
errors (through Settings, naming the variable)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.schedule import OFF, DigestSchedule, parse_schedule
from bot.settings import Settings, SettingsError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_off_and_intervals() -> None:
    assert parse_schedule("off") == OFF and parse_schedule("") == OFF and OFF.off
    assert OFF.period(at("2026-11-28T00:00:00")) is None
    hourly = parse_schedule("1h")
    assert hourly == DigestSchedule(every_s=3600) and str(hourly) == "every 3600 s"
    assert hourly.period(at("2026-11-28T10:00:00")) == hourly.period(at("2026-11-28T10:59:59"))
    assert hourly.period(at("2026-11-28T10:59:59")) != hourly.period(at("2026-11-28T11:00:00"))
    assert parse_schedule("30S").every_s == 30 and parse_schedule("7d").every_s == 7 * 86400
    assert 0.5 <= parse_schedule("1s").tick_s() <= 1


def test_daily_periods_turn_at_the_utc_time() -> None:
    daily = parse_schedule("daily@09:30")
    assert daily.daily_at == (9, 30) and str(daily) == "daily at 09:30 UTC"
    assert daily.period(at("2026-11-28T09:29:59")) == "daily@09:30:2026-11-27"
    assert daily.period(at("2026-11-28T09:30:00")) == "daily@09:30:2026-11-28"
    assert daily.period(at("2026-11-29T09:29:00")) == "daily@09:30:2026-11-28"


@pytest.mark.parametrize("value", ["weekly", "0s", "31d", "daily@24:00", "daily@9:00", "5 h"])
def test_bad_schedules_name_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^HEED_QUEUE_DIGEST must be"):
        Settings.from_env({**BASE, "HEED_QUEUE_DIGEST": value})


def test_queue_settings_defaults_and_errors() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.queue_score, settings.queue_size, settings.queue_days) == ("margin", 200, 14)
    assert settings.queue_digest.off
    chosen = Settings.from_env({**BASE, "HEED_QUEUE_SCORE": "Entropy", "HEED_QUEUE_SIZE": "5"})
    assert (chosen.queue_score, chosen.queue_size) == ("entropy", 5)
    with pytest.raises(SettingsError, match=r"^HEED_QUEUE_SCORE must be margin or entropy"):
        Settings.from_env({**BASE, "HEED_QUEUE_SCORE": "random"})
    with pytest.raises(SettingsError, match=r"^HEED_QUEUE_SIZE must be a whole number"):
        Settings.from_env({**BASE, "HEED_QUEUE_SIZE": "0"})
