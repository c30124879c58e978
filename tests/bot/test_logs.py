"""Log records never carry a Slack token or a configured secret."""

from __future__ import annotations

import logging
import sys

from bot.logs import RedactingFilter


def test_redacting_filter_hides_tokens_and_secrets() -> None:
    flt = RedactingFilter(["s3cr3t-signing"])
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "auth %s and %s, secret %s",
        ("xoxb-1-abc", "xapp-1-A-b", "s3cr3t-signing"),
        None,
    )
    assert flt.filter(record)
    assert record.getMessage() == "auth [redacted] and [redacted], secret [redacted]"
    noisy = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        __file__,
        1,
        "As you gave `client` as well, x",
        None,
        None,
    )
    assert not flt.filter(noisy)


def test_tracebacks_are_redacted_too_and_short_secrets_ignored() -> None:
    flt = RedactingFilter(["abc", "", "long-enough-secret"])
    assert flt.secrets == ["long-enough-secret"]
    try:
        raise RuntimeError("bad token xoxb-99-zzz and long-enough-secret")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert flt.filter(record)
    assert "xoxb-99" not in record.exc_text and "long-enough-secret" not in record.exc_text
    assert "bad token [redacted] and [redacted]" in record.exc_text
