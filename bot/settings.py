"""Environment (and ``.env``) -> a frozen, validated :class:`Settings`.

Every problem is reported as one :class:`SettingsError` whose message names the variable;
the value of a secret (tokens, signing secret) never appears in a message or a ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.env_reader import (
    DEFAULT_EMOJI_KEY,
    DEFAULT_LABEL_EMOJI,
    LOG_LEVELS,
    EnvReader,
    SettingsError,
    shown,
    split_list,
)
from bot.schedule import OFF, DigestSchedule
from bot.tasks import Task, Tasks, load_tasks
from classifier.types import DEFAULT_EXPLAIN_METHOD

__all__ = [
    "DEFAULT_EMOJI_KEY",
    "DEFAULT_LABEL_EMOJI",
    "LOG_LEVELS",
    "Settings",
    "SettingsError",
    "database_url_from_env",
    "split_list",
]

SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")

_THREADS = re.compile(r"\d{1,3}")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_LOG_FORMAT = re.compile(r"text|json")
RESERVED_TRAIN_FLAGS = (
    "--data",
    "--bundled-sample",
    "--eval-data",
    "--promote",
    "--progress",
    "--json",
    "--stop-when-stdin-closes",
    "--task",
)
"""Training flags the retrain runner sets itself; ``HEED_RETRAIN_ARGS`` may not repeat them,
nor any abbreviation of them (``--dat``)."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, validated (see :meth:`from_env`)."""

    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    api_url: str | None = None
    model_dir: Path = Path("models")
    data_dir: Path = Path("var")
    base_model: str | None = None
    autotag_channels: tuple[str, ...] = ()
    autotag_threshold: float = 0.8
    autotag_notify: frozenset[str] = frozenset()
    label_emoji: Mapping[str, str] = field(default_factory=lambda: DEFAULT_LABEL_EMOJI)
    admins: frozenset[str] = frozenset()
    admins_from_workspace: bool = False
    labelers: frozenset[str] = frozenset()
    """``HEED_LABELERS``: user IDs (``U…``/``W…``) and user-group IDs (``S…``)."""
    train_data: tuple[Path, ...] = ()
    eval_data: tuple[Path, ...] = ()
    """``HEED_EVAL_DATA``: fixed held-out exports a retrain is judged (and promoted) on."""
    retrain_timeout: float = 3600.0
    torch_threads: int = 0
    retrain_args: tuple[str, ...] = ()
    train_launcher: tuple[str, ...] = ()
    """``HEED_TRAIN_LAUNCHER``: runs the training child as ``LAUNCHER -m training train``
    (e.g. ``torchrun --nproc-per-node 2``) instead of ``python -m training train``."""
    device: str = "auto"
    private_replies: bool = False
    explain_method: str = DEFAULT_EXPLAIN_METHOD
    log_level: str = "INFO"
    database_url: str = field(default="", repr=False)
    """``HEED_DATABASE_URL`` (its password is a secret), else SQLite under ``data_dir``."""
    job_lease: float = 30.0
    retention_days: int = 90
    """``HEED_RETENTION_DAYS``: unanswered texts and kept exports are deleted after this."""
    keep_versions: int = 10
    """``HEED_KEEP_VERSIONS``: model versions kept (besides the serving and rollback ones)."""
    log_format: str = "text"
    http_threads: int = 8
    http_connections: int = 1000
    http_timeout: float = 10.0
    max_body: int = 1 << 20
    ops_port: int | None = None
    ops_host: str = "127.0.0.1"
    job_queue: int = 64
    classify_per_minute: int = 20
    queue_score: str = "margin"
    """``HEED_QUEUE_SCORE``: how the labelling queue ranks uncertainty (margin or entropy)."""
    queue_size: int = 200
    """``HEED_QUEUE_SIZE``: open queue items kept per task (the most uncertain)."""
    queue_days: int = 14
    """``HEED_QUEUE_DAYS``: how recent a queued item must be to be offered."""
    queue_digest: DigestSchedule = OFF
    """``HEED_QUEUE_DIGEST``: when labelers get the queue by DM."""
    configured_tasks: Tasks | None = field(default=None, repr=False)
    """The tasks of ``heed.toml``; None: the one task ``default`` from the fields above."""

    @property
    def tasks(self) -> Tasks:
        """Every task this bot serves (``heed.toml``'s, else ``default`` from the environment)."""
        if self.configured_tasks is not None:
            return self.configured_tasks
        task = Task(
            name="default",
            model_dir=self.model_dir,
            channels=self.autotag_channels,
            label_emoji=self.label_emoji,
            notify=self.autotag_notify,
            threshold=self.autotag_threshold,
            explain_method=self.explain_method,
            train_data=self.train_data,
            eval_data=self.eval_data,
        )
        return Tasks({task.name: task})

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is configured (Socket Mode), else HTTP mode."""
        return bool(self.app_token)

    def secrets(self) -> list[str]:
        """The secret values, for log redaction."""
        password = make_url(self.database_url).password if self.database_url else None
        values = (self.bot_token, self.app_token, self.signing_secret, password)
        return [str(s) for s in values if s]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Validate ``env`` (usually ``os.environ`` after loading ``.env``).

        Raises :class:`SettingsError` for the first missing or malformed variable.
        """
        reader = EnvReader(env)
        app_token = reader.token("SLACK_APP_TOKEN", "xapp-", required=False, what="an app-level")
        bot_token = reader.token("SLACK_BOT_TOKEN", "xoxb-", required=True, what="a bot")
        signing_secret = reader.secret("SLACK_SIGNING_SECRET", required=not app_token)
        model_dir = reader.directory("HEED_MODEL_DIR", "models")
        tasks = load_tasks(env, model_dir)
        return cls(
            configured_tasks=tasks if tasks.source != "environment" else None,
            bot_token=bot_token or "",
            app_token=app_token,
            signing_secret=signing_secret,
            api_url=reader.url("SLACK_API_URL"),
            model_dir=model_dir,
            data_dir=reader.directory("HEED_DATA_DIR", "var"),
            base_model=reader.text("HEED_BASE_MODEL"),
            autotag_channels=reader.channels("HEED_AUTOTAG_CHANNELS"),
            autotag_threshold=reader.fraction("HEED_AUTOTAG_THRESHOLD", 0.8),
            autotag_notify=frozenset(reader.items("HEED_AUTOTAG_NOTIFY")),
            label_emoji=reader.emoji("HEED_LABEL_EMOJI"),
            admins=frozenset(reader.user_ids("HEED_ADMINS")),
            admins_from_workspace=reader.boolean("HEED_ADMINS_FROM_WORKSPACE", False),
            labelers=frozenset(reader.labelers("HEED_LABELERS")),
            train_data=reader.files("HEED_TRAIN_DATA"),
            eval_data=reader.files("HEED_EVAL_DATA"),
            retrain_timeout=reader.seconds("HEED_RETRAIN_TIMEOUT", 3600.0),
            torch_threads=int(
                reader.choice(
                    "HEED_TORCH_THREADS", "0", _THREADS, "a whole number (0 = one per core)"
                )
            ),
            retrain_args=reader.arguments("HEED_RETRAIN_ARGS", RESERVED_TRAIN_FLAGS),
            train_launcher=reader.launcher("HEED_TRAIN_LAUNCHER"),
            device=reader.choice("HEED_DEVICE", "auto", _DEVICE, "auto, cpu, cuda or cuda:N"),
            private_replies=reader.boolean("HEED_PRIVATE_REPLIES", False),
            explain_method=reader.method("HEED_EXPLAIN_METHOD", DEFAULT_EXPLAIN_METHOD),
            log_level=reader.log_level("HEED_LOG_LEVEL", "INFO"),
            database_url=database_url_from_env(env),
            job_lease=reader.number(
                "HEED_JOB_LEASE", 30.0, lambda x: 1 <= x <= 3600, "between 1 and 3600 seconds"
            ),
            retention_days=reader.whole("HEED_RETENTION_DAYS", 90, 1, 36500),
            keep_versions=reader.whole("HEED_KEEP_VERSIONS", 10, 1, 10000),
            log_format=reader.choice("HEED_LOG_FORMAT", "text", _LOG_FORMAT, "text or json"),
            http_threads=reader.whole("HEED_HTTP_THREADS", 8, 1, 256),
            http_connections=reader.whole("HEED_HTTP_CONNECTIONS", 1000, 10, 100_000),
            http_timeout=reader.number(
                "HEED_HTTP_TIMEOUT", 10.0, lambda x: 1 <= x <= 600, "between 1 and 600 seconds"
            ),
            max_body=reader.whole("HEED_MAX_BODY", 1 << 20, 1024, 64 << 20),
            ops_port=reader.whole("HEED_OPS_PORT", 0, 0, 65535) or None,
            ops_host=reader.text("HEED_OPS_HOST") or "127.0.0.1",
            job_queue=reader.whole("HEED_JOB_QUEUE", 64, 8, 100_000),
            classify_per_minute=reader.whole("HEED_CLASSIFY_PER_MINUTE", 20, 0, 100_000),
            queue_score=reader.score("HEED_QUEUE_SCORE", "margin"),
            queue_size=reader.whole("HEED_QUEUE_SIZE", 200, 1, 100_000),
            queue_days=reader.whole("HEED_QUEUE_DAYS", 14, 1, 3650),
            queue_digest=reader.schedule("HEED_QUEUE_DIGEST"),
        )


def database_url_from_env(env: Mapping[str, str]) -> str:
    """``HEED_DATABASE_URL`` checked (SQLite or PostgreSQL through psycopg 3), else the SQLite
    file ``$HEED_DATA_DIR/heed.sqlite3``; raises :class:`SettingsError` without ever showing
    the URL's password."""
    name = "HEED_DATABASE_URL"
    value = (env.get(name) or "").strip()
    if not value:
        data_dir = EnvReader(env).directory("HEED_DATA_DIR", "var")
        return f"sqlite:///{data_dir / 'heed.sqlite3'}"
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(
            name, "must be a URL like postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"
        ) from None
    safe = url.render_as_string(hide_password=True)
    if url.drivername == "postgresql":  # psycopg 3 is the driver Heed installs
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise SettingsError(
            name, f"must be sqlite:///PATH or postgresql+psycopg://…, got {shown(safe)}"
        )
    if not url.database:
        raise SettingsError(name, f"names no database: {shown(safe)}")
    return url.render_as_string(hide_password=False)
