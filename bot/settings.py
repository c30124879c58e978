"""Environment (and ``.env``) -> a frozen, validated :class:`Settings`.

Every problem is reported as one :class:`SettingsError` whose message names the variable;
the value of a secret (tokens, signing secret) never appears in a message or a ``repr``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from classifier.types import EXPLAIN_METHODS

SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
DEFAULT_EMOJI_KEY = "*"
DEFAULT_LABEL_EMOJI = MappingProxyType(
    {"positive": "+1", "negative": "-1", "neutral": "neutral_face", DEFAULT_EMOJI_KEY: "label"}
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_GROUP_ID = re.compile(r"S[A-Z0-9]+")
_EMOJI = re.compile(r"[a-z0-9_+'-]{1,100}")
_THREADS = re.compile(r"\d{1,3}")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
RESERVED_TRAIN_FLAGS = (
    "--data",
    "--bundled-sample",
    "--eval-data",
    "--promote",
    "--progress",
    "--json",
    "--stop-when-stdin-closes",
)
"""Training flags the retrain runner sets itself; ``HEED_RETRAIN_ARGS`` may not repeat them,
nor any abbreviation of them (``--dat``)."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A missing or malformed setting; ``str()`` is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


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
    device: str = "auto"
    private_replies: bool = False
    explain_method: str = "gradient"  # most faithful within budget: README, Benchmarks
    log_level: str = "INFO"
    database_url: str = field(default="", repr=False)
    """``HEED_DATABASE_URL`` (its password is a secret), else SQLite under ``data_dir``."""
    job_lease: float = 30.0
    retention_days: int = 90
    """``HEED_RETENTION_DAYS``: unanswered texts and kept exports are deleted after this."""
    keep_versions: int = 10
    """``HEED_KEEP_VERSIONS``: model versions kept (besides the serving and rollback ones)."""

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is configured (Socket Mode), else HTTP mode."""
        return bool(self.app_token)

    def secrets(self) -> list[str]:
        """The secret values, for log redaction."""
        password = make_url(self.database_url).password if self.database_url else None
        values = (self.bot_token, self.app_token, self.signing_secret, password)
        return [str(s) for s in values if s]

    def emoji_for(self, label: str) -> str | None:
        """The reaction for ``label``: its mapping, else the ``*`` default (None = no reaction)."""
        emoji = self.label_emoji.get(label)
        if emoji is None:
            emoji = self.label_emoji.get(DEFAULT_EMOJI_KEY)
        return emoji or None

    def should_notify(self, label: str, confidence: float) -> bool:
        """Whether an auto-tagged message gets a thread note with the heatmap."""
        wanted = label in self.autotag_notify or DEFAULT_EMOJI_KEY in self.autotag_notify
        return wanted and confidence >= self.autotag_threshold

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Validate ``env`` (usually ``os.environ`` after loading ``.env``).

        Raises :class:`SettingsError` for the first missing or malformed variable.
        """
        reader = _Reader(env)
        app_token = reader.token("SLACK_APP_TOKEN", "xapp-", required=False, what="an app-level")
        bot_token = reader.token("SLACK_BOT_TOKEN", "xoxb-", required=True, what="a bot")
        signing_secret = reader.secret("SLACK_SIGNING_SECRET", required=not app_token)
        return cls(
            bot_token=bot_token or "",
            app_token=app_token,
            signing_secret=signing_secret,
            api_url=reader.url("SLACK_API_URL"),
            model_dir=reader.directory("HEED_MODEL_DIR", "models"),
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
            device=reader.choice("HEED_DEVICE", "auto", _DEVICE, "auto, cpu, cuda or cuda:N"),
            private_replies=reader.boolean("HEED_PRIVATE_REPLIES", False),
            explain_method=reader.method("HEED_EXPLAIN_METHOD", "gradient"),
            log_level=reader.log_level("HEED_LOG_LEVEL", "INFO"),
            database_url=database_url_from_env(env),
            job_lease=reader.number(
                "HEED_JOB_LEASE", 30.0, lambda x: 1 <= x <= 3600, "between 1 and 3600 seconds"
            ),
            retention_days=int(
                reader.number(
                    "HEED_RETENTION_DAYS",
                    90,
                    lambda x: x.is_integer() and 1 <= x <= 36500,
                    "a whole number of days, at least 1",
                )
            ),
            keep_versions=int(
                reader.number(
                    "HEED_KEEP_VERSIONS",
                    10,
                    lambda x: x.is_integer() and 1 <= x <= 10000,
                    "a whole number of versions, at least 1",
                )
            ),
        )


def database_url_from_env(env: Mapping[str, str]) -> str:
    """``HEED_DATABASE_URL`` checked (SQLite or PostgreSQL through psycopg 3), else the SQLite
    file ``$HEED_DATA_DIR/heed.sqlite3``; raises :class:`SettingsError` without ever showing
    the URL's password."""
    name = "HEED_DATABASE_URL"
    value = (env.get(name) or "").strip()
    if not value:
        data_dir = _Reader(env).directory("HEED_DATA_DIR", "var")
        return f"sqlite:///{data_dir / 'heed.sqlite3'}"
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(
            name, "must be a URL like postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"
        ) from None
    shown = url.render_as_string(hide_password=True)
    if url.drivername == "postgresql":  # psycopg 3 is the driver Heed installs
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise SettingsError(
            name, f"must be sqlite:///PATH or postgresql+psycopg://…, got {_show(shown)}"
        )
    if not url.database:
        raise SettingsError(name, f"names no database: {_show(shown)}")
    return url.render_as_string(hide_password=False)


def _show(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def split_list(value: str) -> list[str]:
    """Split a comma- (or whitespace-) separated setting into its non-empty items."""
    return [item for item in re.split(r"[,\s]+", value.strip()) if item]


class _Reader:
    """Typed getters over an environment mapping; each raises SettingsError naming the var."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def token(self, name: str, prefix: str, *, required: bool, what: str) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise SettingsError(name, f"is required: {what} token ({prefix}…) of the app")
            return None
        if not value.startswith(prefix) or re.search(r"\s", value):
            raise SettingsError(
                name, f"must be {what} token starting with '{prefix}' (value not shown)"
            )
        return value

    def secret(self, name: str, *, required: bool) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise SettingsError(
                    name, "is required in HTTP mode (set SLACK_APP_TOKEN for Socket Mode instead)"
                )
            return None
        if re.search(r"\s", value):
            raise SettingsError(name, "must not contain whitespace (value not shown)")
        return value

    def text(self, name: str) -> str | None:
        return self.raw(name)

    def url(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(name, f"must be an http(s) URL, got {_show(value)}")
        return value if value.endswith("/") else value + "/"

    def directory(self, name: str, default: str) -> Path:
        path = Path(self.raw(name) or default).expanduser()
        if path.exists() and not path.is_dir():
            raise SettingsError(name, f"must be a directory, got the file {_show(str(path))}")
        return path

    def items(self, name: str) -> list[str]:
        value = self.raw(name)
        return split_list(value) if value else []

    def channels(self, name: str) -> tuple[str, ...]:
        out = []
        for item in self.items(name):
            if _CHANNEL_ID.fullmatch(item):
                out.append(item)
            elif _CHANNEL_NAME.fullmatch(item.removeprefix("#").lower()):
                out.append("#" + item.removeprefix("#").lower())
            else:
                raise SettingsError(
                    name,
                    f"must list channel IDs (C0123ABCD) or names (#support), got {_show(item)}",
                )
        return tuple(out)

    def user_ids(self, name: str) -> list[str]:
        ids = self.items(name)
        for item in ids:
            if not _USER_ID.fullmatch(item):
                raise SettingsError(
                    name, f"must list Slack user IDs (U0123ABCD), got {_show(item)}"
                )
        return ids

    def labelers(self, name: str) -> list[str]:
        ids = self.items(name)
        for item in ids:
            if not (_USER_ID.fullmatch(item) or _GROUP_ID.fullmatch(item)):
                raise SettingsError(
                    name,
                    f"must list Slack user IDs (U0123ABCD) or user-group IDs (S0123ABCD), "
                    f"got {_show(item)}",
                )
        return ids

    def emoji(self, name: str) -> Mapping[str, str]:
        value = self.raw(name)
        if value is None:
            return DEFAULT_LABEL_EMOJI
        mapping = {DEFAULT_EMOJI_KEY: DEFAULT_LABEL_EMOJI[DEFAULT_EMOJI_KEY]}
        for pair in (p.strip() for p in value.split(",")):
            if not pair:
                continue
            label, sep, emoji = (part.strip() for part in pair.partition("="))
            emoji = emoji.strip(":")
            if not sep or not label or (emoji and not _EMOJI.fullmatch(emoji)):
                raise SettingsError(
                    name, f"must be label=emoji pairs like 'positive=+1,*=label', got {_show(pair)}"
                )
            mapping[label] = emoji
        return MappingProxyType(mapping)

    def number(
        self, name: str, default: float, accept: Callable[[float], bool], hint: str
    ) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not accept(number):
            raise SettingsError(name, f"must be {hint}, got {_show(value)}")
        return number

    def fraction(self, name: str, default: float) -> float:
        return self.number(name, default, lambda x: 0.0 <= x <= 1.0, "a number between 0 and 1")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise SettingsError(name, f"must be true or false, got {_show(value)}")

    def files(self, name: str) -> tuple[Path, ...]:
        paths = tuple(Path(item).expanduser() for item in self.items(name))
        for path in paths:
            if not path.is_file():
                raise SettingsError(
                    name, f"must list existing files, {_show(str(path))} is not one"
                )
        return paths

    def seconds(self, name: str, default: float) -> float:
        return self.number(
            name, default, lambda x: 0 < x < float("inf"), "a positive number of seconds"
        )

    def arguments(self, name: str, reserved: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        try:
            args = shlex.split(value)
        except ValueError as exc:
            raise SettingsError(name, f"must be shell-style arguments: {exc}") from None
        if args and not args[0].startswith("-"):
            raise SettingsError(
                name, f"must start with an option like --epochs, got {_show(args[0])}"
            )
        for arg in args:
            flag = arg.split("=", 1)[0]
            taken = [r for r in reserved if flag.startswith("--") and r.startswith(flag)]
            if len(flag) > 2 and taken:
                shown = flag if flag in reserved else f"{flag} (short for {taken[0]})"
                raise SettingsError(
                    name, f"must not set {shown}: Heed passes {', '.join(reserved)} itself"
                )
        return tuple(args)

    def choice(self, name: str, default: str, pattern: re.Pattern[str], hint: str) -> str:
        value = (self.raw(name) or default).lower()
        if not pattern.fullmatch(value):
            raise SettingsError(name, f"must be {hint}, got {_show(value)}")
        return value

    def method(self, name: str, default: str) -> str:
        value = (self.raw(name) or default).lower()
        if value not in EXPLAIN_METHODS:
            raise SettingsError(
                name, f"must be one of {', '.join(EXPLAIN_METHODS)}, got {_show(value)}"
            )
        return value

    def log_level(self, name: str, default: str) -> str:
        value = (self.raw(name) or default).upper()
        if value not in LOG_LEVELS:
            raise SettingsError(name, f"must be one of {', '.join(LOG_LEVELS)}, got {_show(value)}")
        return value
