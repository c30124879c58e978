"""Logging for the bot process: timestamps on stderr, secrets redacted from every record."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable

_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]+")
_NOISE = ("As you gave `client` as well",)  # Bolt's note when SLACK_BOT_TOKEN is also in env
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


class RedactingFilter(logging.Filter):
    """Replace Slack tokens (``xoxb-…``, ``xapp-…``) and the given secrets with ``[redacted]``;
    drop a few known-noisy records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        """``text`` with every token and secret replaced."""
        text = _TOKEN.sub("[redacted]", text)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it
            return True
        if message.startswith(_NOISE):
            return False
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr with timestamps; quiet third-party chatter unless ``level`` is DEBUG."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if level != "DEBUG":
        for name in ("urllib3", "PIL", "matplotlib", "slack_sdk.socket_mode", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
