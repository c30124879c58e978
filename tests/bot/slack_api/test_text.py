"""Slack message markup <-> plain text."""

from __future__ import annotations

from bot.slack_api.text import escape_mrkdwn, shorten, slack_to_plain


def test_slack_text_helpers() -> None:
    assert slack_to_plain("hi <@U123> in <#C1|general> see <http://a.b> &amp; <!here>") == (
        "hi @U123 in #general see http://a.b & @here"
    )
    assert slack_to_plain("<@U1|ana> <!subteam^S1|@team> &lt;3") == "@ana @@team <3"
    assert escape_mrkdwn("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc"
