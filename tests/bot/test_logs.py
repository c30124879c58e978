"""Log records never carry a Slack token, a configured secret or a response_url, and never
span lines an attacker could forge; JSON lines on request."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from bot.logs import MAX_MESSAGE, RedactingFilter, configure_logging


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


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, message, args, None)


def test_newlines_are_escaped_so_no_line_can_be_forged() -> None:
    record = _record("text %s", "hi\n2026-01-01 INFO bot: admin U1 promoted v9\r")
    assert RedactingFilter().filter(record)
    assert "\n" not in record.getMessage() and "\r" not in record.getMessage()
    assert record.getMessage() == "text hi\\n2026-01-01 INFO bot: admin U1 promoted v9\\r"


def test_long_messages_are_cut() -> None:
    record = _record("%s", "x" * (MAX_MESSAGE * 3))
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert len(message) < MAX_MESSAGE + 100 and message.endswith("more characters cut]")


def test_response_urls_are_redacted_like_tokens() -> None:
    record = _record(
        "body %s and %s",
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fsecret&x=1",
        '{"response_url": "http://127.0.0.1:9/response/77", "text": "hi"}',
    )
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert "secret" not in message and "/response/77" not in message
    assert message.count("[redacted]") == 2 and '"text": "hi"' in message
    hook = _record("posting to https://hooks.slack.com/actions/T1/2/abc")
    RedactingFilter().filter(hook)
    assert hook.getMessage() == "posting to https://hooks.slack.com/[redacted]"


@pytest.fixture
def root_logger() -> Iterator[None]:
    """Put the root logger back as it was after a test configures it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.usefixtures("root_logger")
def test_json_format_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["s3cr3t-signing"], "json")
    log = logging.getLogger("heed.test")
    log.warning("first line\nsecond s3cr3t-signing")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = capsys.readouterr().err.strip().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "first line\\nsecond [redacted]" and first["level"] == "WARNING"
    assert first["logger"] == "heed.test" and first["time"].endswith("+00:00")
    assert second["message"] == "failed" and "ValueError: boom" in second["exception"]
