"""Block Kit building blocks shared by every surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.blocks.common import (
    SECTION_LIMIT,
    bar,
    code_sections,
    context,
    one_line,
    percent,
    plural,
    section,
    sections,
    utc,
    who,
)


def test_bar_percent_and_plural() -> None:
    assert bar(0.0) == "░" * 10 and bar(1.0) == "█" * 10
    assert bar(0.83) == "████████░░" and percent(0.8734) == "87.3%"
    assert bar(1.7) == "█" * 10 and bar(-1) == "░" * 10
    assert plural(1, "row") == "1 row" and plural(0, "row") == "0 rows"


def test_sections_pack_lines_under_the_limit() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)]
    packed = sections(lines)
    assert len(packed) >= 4 and all(len(b["text"]["text"]) <= SECTION_LIMIT for b in packed)
    assert "\n".join(b["text"]["text"] for b in packed) == "\n".join(lines)
    assert sections([]) == []
    assert section("*x*") == {"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}


def test_code_sections_stay_under_the_limit_with_their_fences() -> None:
    chunks = code_sections(["x" * 100] * 80)
    assert len(chunks) >= 3
    for block in chunks:
        text = block["text"]["text"]
        assert text.startswith("```") and text.endswith("```") and len(text) <= SECTION_LIMIT


def test_context_one_line_utc_who() -> None:
    assert context("a", "", "b")["elements"] == [
        {"type": "mrkdwn", "text": "a"},
        {"type": "mrkdwn", "text": "b"},
    ]
    assert one_line("a\n  b\tc") == "a b c" and one_line(None) == ""
    assert one_line("x" * 20, 10) == "x" * 9 + "…"
    moment = datetime(2026, 11, 27, 19, 55, tzinfo=timezone(timedelta(hours=1)))
    assert utc(moment) == "2026-11-27 18:55 UTC" and utc(None) == "?"
    assert utc(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert who("U1") == "<@U1>" and who(None) == "someone"
