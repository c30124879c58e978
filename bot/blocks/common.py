"""Block Kit building blocks shared by every surface: numbers, sections, who and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.slack_api.text import shorten

Blocks = list[dict]
SECTION_LIMIT = 3000
LABEL_CHARS = 60


AUDIT_FAILED = ":warning: Heed couldn't write its audit log, so it did nothing."
BUSY_NOTE = ":hourglass: Heed is busy right now; please try again in a moment."


def slow_down_note(seconds: float) -> str:
    """The reply to a user over the per-user rate limit."""
    wait = max(1, round(seconds))
    return f":hourglass: You're classifying faster than Heed allows; try again in {wait} s."


def plural(n: int, word: str) -> str:
    """``plural(1, "row")`` -> ``'1 row'``, ``plural(2, "row")`` -> ``'2 rows'``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def percent(p: float) -> str:
    """``0.8734`` -> ``'87.3%'``."""
    return f"{100 * p:.1f}%"


def against_threshold(confidence: float, threshold: float) -> str:
    """``confidence 0.83 ≥ threshold 0.60`` (or ``<``): how a confidence met its threshold."""
    sign = "≥" if confidence >= threshold else "<"
    return f"confidence {confidence:.2f} {sign} threshold {threshold:.2f}"


def bar(p: float, width: int = 10) -> str:
    """A text bar for a probability: ``'███████░░░'``."""
    filled = max(0, min(width, round(p * width)))
    return "█" * filled + "░" * (width - filled)


def sections(lines: Sequence[str], limit: int = SECTION_LIMIT) -> Blocks:
    """Pack lines into as few section blocks as Slack's 3000-character limit allows."""
    packed, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            packed.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        packed.append(current)
    return [section(text) for text in packed]


def context(*parts: str) -> dict:
    """A context block of mrkdwn ``parts`` (empty ones left out)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": p} for p in parts if p]}


def section(text: str) -> dict:
    """A mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def code_sections(lines: Sequence[str]) -> Blocks:
    """``lines`` as code blocks, split so each section stays under Slack's limit."""
    chunks = sections(lines, SECTION_LIMIT - 8)
    for block in chunks:
        block["text"]["text"] = "```" + block["text"]["text"] + "```"
    return chunks


def one_line(text: str | None, limit: int = 500) -> str:
    """``text`` squeezed onto one line (whitespace collapsed) and shortened."""
    return shorten(" ".join((text or "").split()), limit)


def utc(moment: datetime | None) -> str:
    """``2026-11-27 18:55 UTC`` (``?`` when unknown)."""
    return "?" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def who(user: str | None) -> str:
    """A user mention, or ``someone``."""
    return f"<@{user}>" if user else "someone"
