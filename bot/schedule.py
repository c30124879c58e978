"""``HEED_QUEUE_DIGEST`` as periods (an interval's multiples since the epoch, or UTC days from
``daily@HH:MM``) whose keys every replica agrees on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_INTERVAL = re.compile(r"(\d{1,6})([smhd])")
_DAILY = re.compile(r"daily@([01]\d|2[0-3]):([0-5]\d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FORMAT = "off, an interval like 24h (s, m, h or d) or daily@HH:MM (UTC)"


@dataclass(frozen=True)
class DigestSchedule:
    """An interval in seconds, or a daily UTC time as ``(hour, minute)``; neither: off."""

    every_s: int | None = None
    daily_at: tuple[int, int] | None = None

    @property
    def off(self) -> bool:
        """No digest is sent."""
        return self.every_s is None and self.daily_at is None

    def period(self, at: datetime) -> str | None:
        """The key of the period ``at`` falls in (None when off)."""
        if self.every_s is not None:
            return f"every-{self.every_s}s:{int(at.timestamp()) // self.every_s}"
        if self.daily_at is not None:
            hour, minute = self.daily_at
            start = at.astimezone(UTC) - timedelta(hours=hour, minutes=minute)
            return f"daily@{hour:02d}:{minute:02d}:{start.date().isoformat()}"
        return None

    def tick_s(self) -> float:
        """How often to look for a new period: a few times per period, at most every 30 s."""
        if self.every_s is not None:
            return max(0.5, min(30.0, self.every_s / 4))
        return 30.0

    def __str__(self) -> str:
        if self.every_s is not None:
            return f"every {self.every_s} s"
        if self.daily_at is not None:
            return "daily at {:02d}:{:02d} UTC".format(*self.daily_at)
        return "off"


OFF = DigestSchedule()


def parse_schedule(value: str) -> DigestSchedule:
    """``off`` / ``30s`` / ``24h`` / ``daily@09:00`` -> a :class:`DigestSchedule`; raises
    ``ValueError`` for anything else (or an interval of 0 or over 30 days)."""
    text = value.strip().lower()
    if text in ("", "off", "none", "false", "0"):
        return OFF
    interval = _INTERVAL.fullmatch(text)
    if interval:
        seconds = int(interval.group(1)) * _UNITS[interval.group(2)]
        if not 1 <= seconds <= 30 * 86400:
            raise ValueError(f"must be an interval from 1s to 30d, got {value!r}")
        return DigestSchedule(every_s=seconds)
    daily = _DAILY.fullmatch(text)
    if daily:
        return DigestSchedule(daily_at=(int(daily.group(1)), int(daily.group(2))))
    raise ValueError(f"must be {FORMAT}, got {value[:60]!r}")
