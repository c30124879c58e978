"""Environment (and ``.env``) -> a frozen, validated :class:`Settings`, with ``heed.toml``'s
tasks; a secret's value never appears in a message or a ``repr``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.database.connection import DB_FILENAME
from bot.schedule import DigestSchedule
from bot.setting_kinds import SettingsError, Thresholds
from bot.setting_table import TASK_KEYS, VARIABLE, read, setting
from bot.tasks import DEFAULT_CONFIG, Task, Tasks, load_tasks

SIGNING_SECRET_MISSING = "is required in HTTP mode (set SLACK_APP_TOKEN for Socket Mode instead)"


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, validated (see :meth:`from_env`)."""

    bot_token: str = setting("SLACK_BOT_TOKEN", repr=False)
    app_token: str | None = setting("SLACK_APP_TOKEN", repr=False)
    signing_secret: str | None = setting("SLACK_SIGNING_SECRET", repr=False)
    api_url: str | None = setting("SLACK_API_URL")
    model_dir: Path = setting("HEED_MODEL_DIR")  # noqa: RUF009 (a field)
    data_dir: Path = setting("HEED_DATA_DIR")  # noqa: RUF009 (a field)
    base_model: str | None = setting("HEED_BASE_MODEL")
    autotag_channels: tuple[str, ...] = setting("HEED_AUTOTAG_CHANNELS")
    autotag_threshold: Thresholds = setting("HEED_AUTOTAG_THRESHOLD")  # noqa: RUF009 (a field)
    autotag_mode: str = setting("HEED_AUTOTAG_MODE")
    abstain_below: float = setting("HEED_ABSTAIN_BELOW")
    not_sure_emoji: str | None = setting("HEED_NOT_SURE_EMOJI")
    review_channel: str | None = setting("HEED_REVIEW_CHANNEL")
    thread_note: bool = setting("HEED_THREAD_NOTE")
    autotag_notify: frozenset[str] = setting("HEED_AUTOTAG_NOTIFY")
    label_emoji: Mapping[str, str] = setting("HEED_LABEL_EMOJI")
    admins: frozenset[str] = setting("HEED_ADMINS")
    admins_from_workspace: bool = setting("HEED_ADMINS_FROM_WORKSPACE")
    labelers: frozenset[str] = setting("HEED_LABELERS")
    train_data: tuple[Path, ...] = setting("HEED_TRAIN_DATA")
    eval_data: tuple[Path, ...] = setting("HEED_EVAL_DATA")
    retrain_timeout: float = setting("HEED_RETRAIN_TIMEOUT")
    torch_threads: int | None = setting("HEED_TORCH_THREADS")
    retrain_args: tuple[str, ...] = setting("HEED_RETRAIN_ARGS")
    train_launcher: tuple[str, ...] = setting("HEED_TRAIN_LAUNCHER")
    device: str = setting("HEED_DEVICE")
    private_replies: bool = setting("HEED_PRIVATE_REPLIES")
    explain_method: str = setting("HEED_EXPLAIN_METHOD")
    log_level: str = setting("HEED_LOG_LEVEL")
    database_url: str = setting("HEED_DATABASE_URL", repr=False)
    """Empty: the SQLite file in ``data_dir`` (:meth:`from_env` fills it in)."""
    job_lease: float = setting("HEED_JOB_LEASE")
    retention_days: int = setting("HEED_RETENTION_DAYS")
    audit_days: int = setting("HEED_AUDIT_DAYS")
    keep_versions: int = setting("HEED_KEEP_VERSIONS")
    loaded_tasks: int = setting("HEED_LOADED_TASKS")
    task_idle_minutes: int = setting("HEED_TASK_IDLE_MINUTES")
    log_format: str = setting("HEED_LOG_FORMAT")
    http_threads: int = setting("HEED_HTTP_THREADS")
    http_connections: int = setting("HEED_HTTP_CONNECTIONS")
    http_timeout: float = setting("HEED_HTTP_TIMEOUT")
    max_body: int = setting("HEED_MAX_BODY")
    ops_port: int | None = setting("HEED_OPS_PORT")
    ops_host: str = setting("HEED_OPS_HOST")
    ops_public: bool = setting("HEED_OPS_PUBLIC")
    job_queue: int = setting("HEED_JOB_QUEUE")
    autotag_max_age: float = setting("HEED_AUTOTAG_MAX_AGE")
    classify_per_minute: int = setting("HEED_CLASSIFY_PER_MINUTE")
    queue_score: str = setting("HEED_QUEUE_SCORE")
    queue_size: int = setting("HEED_QUEUE_SIZE")
    queue_days: int = setting("HEED_QUEUE_DAYS")
    queue_digest: DigestSchedule = setting("HEED_QUEUE_DIGEST")  # noqa: RUF009 (a field)
    drift_psi: float = setting("HEED_DRIFT_PSI")
    dry_run_max: int = setting("HEED_DRY_RUN_MAX")
    double_label: float = setting("HEED_DOUBLE_LABEL")
    appeals_per_day: int = setting("HEED_APPEALS_PER_DAY")
    configured_tasks: Tasks | None = field(default=None, repr=False)
    """The tasks of ``heed.toml``; None: the one task ``default`` from the fields above."""

    @property
    def tasks(self) -> Tasks:
        """Every task this bot serves (``heed.toml``'s, else ``default`` from the environment)."""
        if self.configured_tasks is not None:
            return self.configured_tasks
        task = self.environment_task()
        return Tasks({task.name: task})

    def environment_task(self) -> Task:
        """The task ``default`` the variables make (a ``heed.toml`` task's inherited values);
        a task field naming no variable (``admins``, ``labelers``) stays None: the variable's,
        applied where it is checked."""
        values = {f.metadata[VARIABLE]: getattr(self, f.name) for f in fields(self) if f.metadata}
        named = {f.name for f in fields(Task) if f.metadata}
        keys = {key: values[spec.variable] for key, spec in TASK_KEYS.items() if key in named}
        return Task("default", self.model_dir, **keys)

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
        """Validate ``env`` and ``heed.toml`` (``HEED_CONFIG``, else ``./heed.toml`` when
        present); raises :class:`SettingsError` for the first bad variable or key."""
        values = {f.name: read(env, f.metadata[VARIABLE]) for f in fields(cls) if f.metadata}
        if not values["app_token"] and values["signing_secret"] is None:
            raise SettingsError("SLACK_SIGNING_SECRET", SIGNING_SECRET_MISSING)
        values["database_url"] = values["database_url"] or sqlite_url(values["data_dir"])
        settings = cls(**values)
        config = read(env, "HEED_CONFIG") or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        if config is None:
            return settings
        tasks = load_tasks(config, settings.model_dir, settings.environment_task())
        return replace(settings, configured_tasks=tasks)


def sqlite_url(data_dir: Path) -> str:
    """The default database: the SQLite file ``heed.sqlite3`` in ``data_dir``."""
    return f"sqlite:///{data_dir / DB_FILENAME}"


def database_url_from_env(env: Mapping[str, str]) -> str:
    """``HEED_DATABASE_URL``, else the SQLite file in ``HEED_DATA_DIR`` (for ``bot migrate``)."""
    return read(env, "HEED_DATABASE_URL") or sqlite_url(read(env, "HEED_DATA_DIR"))
