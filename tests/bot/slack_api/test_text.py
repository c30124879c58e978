"""Slack message markup <-> plain text."""

from __future__ import annotations

from bot.slack_api.text import (
    clean_input,
    escape_and_shorten,
    escape_mrkdwn,
    shorten,
    slack_to_plain,
)


def test_slack_text_helpers() -> None:
    assert slack_to_plain("hi <@U123> in <#C1|general> see <http://a.b> &amp; <!here>") == (
        "hi @U123 in #general see http://a.b & @here"
    )
    assert slack_to_plain("<@U1|ana> <!subteam^S1|@team> &lt;3") == "@ana @@team <3"
    assert escape_mrkdwn("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc"


def test_input_is_nfkc_folded_and_format_characters_removed() -> None:
    assert clean_input("\u200b\u200c\u200d\u2060\ufeff \u202e") == ""  # nothing visible
    assert clean_input("  ｆｕｌｌ\u00adwidth ﬁne\u200b!  ") == "fullwidth fine!"
    assert clean_input("e\u0301") == "\u00e9" and clean_input("👍🏽") == "👍🏽"


def test_escaping_comes_before_the_cut() -> None:
    assert escape_and_shorten("a<b", 10) == "a&lt;b"
    cut = escape_and_shorten("&" * 600, 600)
    assert len(cut) <= 600 and cut.endswith("&amp;…") and cut.count("&amp;") == 119
    assert escape_and_shorten("ab&cd", 5) == "ab…"  # never half an entity
