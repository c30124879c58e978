"""Logging to stderr (text or ``json`` lines), every record made safe: Slack tokens, secrets and
``response_url``s redacted, CR/LF escaped (no forged lines), long messages cut."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]+")
_HOOK_URL = re.compile(r"https?://hooks\.slack(?:-gov)?\.com/[^\s\"'<>]+")
_RESPONSE_URL = re.compile(r"(response_url[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+")
MAX_MESSAGE = 4000
_NOISE = ("As you gave `client` as well",)  # Bolt's note when SLACK_BOT_TOKEN is also in env
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
QUIET = (
    "urllib3",
    "PIL",
    "matplotlib",
    "slack_sdk.socket_mode",
    "websocket",
    "alembic",
    "waitress",
)
"""Third-party loggers held at WARNING unless the level is DEBUG."""


class RedactingFilter(logging.Filter):
    """Redact Slack tokens and the given secrets from every record; drop known-noisy ones."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        """``text`` with every token and secret replaced."""
        text = _TOKEN.sub("[redacted]", text)
        text = _HOOK_URL.sub("https://hooks.slack.com/[redacted]", text)
        text = _RESPONSE_URL.sub(r"\1[redacted]", text)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def clean(self, text: str) -> str:
        """``text`` redacted, with CR/LF escaped and cut at :data:`MAX_MESSAGE` characters."""
        text = self.redact(text).replace("\r", "\\r").replace("\n", "\\n")
        if len(text) > MAX_MESSAGE:
            text = f"{text[:MAX_MESSAGE]}… [{len(text) - MAX_MESSAGE} more characters cut]"
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it
            return True
        if message.startswith(_NOISE):
            return False
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, thread, message and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", secrets: Iterable[str] = (), log_format: str = "text"
) -> None:
    """Log to stderr (text or JSON lines); third-party chatter is quiet unless level is DEBUG."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)


def quiet_transformers() -> None:
    """transformers logs errors only and draws no progress bars. Apart from
    :func:`configure_logging`: importing it costs 0.7 CPU-seconds that a start-up failing its
    first checks need not pay."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
