"""How each kind of setting reads a variable's text or a ``heed.toml`` value: a ``ValueError``
with the problem only, which the caller turns into a :class:`SettingsError` naming the setting."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.database.connection import is_local_host
from bot.schedule import DigestSchedule, parse_schedule

DEFAULT_EMOJI_KEY = "*"
DEFAULT_THRESHOLD = 0.8  # a label a threshold table leaves out, without a "*" entry
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_EMOJI = re.compile(r"[a-z0-9_+'-]{1,100}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_GROUP_ID = re.compile(r"S[A-Z0-9]+")


class SettingsError(ValueError):
    """A missing or malformed setting; ``str()`` is one line naming the variable (or key)."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


def shown(value: object, limit: int = 60) -> str:
    """``value`` quoted for an error message, cut at ``limit`` characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def items(value: object) -> list[str]:
    """The non-empty items of a comma- (or whitespace-) separated text, or of a TOML list."""
    if isinstance(value, str):
        return [item for item in re.split(r"[,\s]+", value.strip()) if item]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return [v.strip() for v in value if v.strip()]


class Kind:
    """How one setting's value is read. ``unset`` is the value of an unset variable."""

    unset: Any = None

    def read(self, value: Any) -> Any:
        """The value of a variable's stripped, non-empty text, or of a task's ``heed.toml`` key."""
        raise NotImplementedError


class Text(Kind):
    def read(self, value: str) -> str:
        return value


@dataclass(frozen=True)
class Token(Kind):
    """A Slack token starting with ``prefix``."""

    prefix: str
    what: str

    def read(self, value: str) -> str:
        if not value.startswith(self.prefix) or re.search(r"\s", value):
            raise ValueError(
                f"must be {self.what} token starting with '{self.prefix}' (value not shown)"
            )
        return value


class Secret(Kind):
    def read(self, value: str) -> str:
        if re.search(r"\s", value):
            raise ValueError("must not contain whitespace (value not shown)")
        return value


class Url(Kind):
    """An https URL (``http://`` only to this machine: the bot token travels with every
    call), ending in ``/``."""

    def read(self, value: str) -> str:
        try:
            parsed = urlparse(value)
            host = parsed.hostname
        except ValueError:
            parsed, host = None, None
        if parsed is None or parsed.scheme not in ("http", "https") or not host:
            raise ValueError(f"must be an http(s) URL, got {shown(value)}")
        if parsed.scheme == "http" and not is_local_host(host):
            raise ValueError(f"must be an https URL (http only for localhost), got {shown(value)}")
        return value if value.endswith("/") else value + "/"


class Directory(Kind):
    """A directory, or a path where one may be made (not a file)."""

    def read(self, value: str) -> Path:
        path = Path(value).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(f"must be a directory, got the file {shown(path)}")
        return path


class File(Kind):
    def read(self, value: str) -> Path:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"must name a file, {shown(path)} is not one")
        return path


class Files(Kind):
    unset: tuple[Path, ...] = ()

    def read(self, value: object) -> tuple[Path, ...]:
        paths = tuple(Path(item).expanduser() for item in items(value))
        for path in paths:
            if not path.is_file():
                raise ValueError(f"must list existing files, {shown(path)} is not one")
        return paths


class Channels(Kind):
    """Channel IDs (``C0123ABCD``) or names, kept as ``#name`` in lower case."""

    unset: tuple[str, ...] = ()

    def read(self, value: object) -> tuple[str, ...]:
        out = []
        for item in items(value):
            name = item.removeprefix("#").lower()
            if _CHANNEL_ID.fullmatch(item):
                out.append(item)
            elif _CHANNEL_NAME.fullmatch(name):
                out.append("#" + name)
            else:
                raise ValueError(
                    f"must list channel IDs (C0123ABCD) or names (#support), got {shown(item)}"
                )
        return tuple(out)


class Labels(Kind):
    """Label names (``*`` = every label)."""

    unset: frozenset[str] = frozenset()

    def read(self, value: object) -> frozenset[str]:
        return frozenset(items(value))


@dataclass(frozen=True)
class SlackIds(Kind):
    """Slack user IDs (``U…``/``W…``), and user-group IDs (``S…``) when ``groups``."""

    groups: bool = False
    unset: frozenset[str] = frozenset()

    def read(self, value: str) -> frozenset[str]:
        ids = items(value)
        for item in ids:
            if _USER_ID.fullmatch(item) or (self.groups and _GROUP_ID.fullmatch(item)):
                continue
            groups = " or user-group IDs (S0123ABCD)" if self.groups else ""
            raise ValueError(f"must list Slack user IDs (U0123ABCD){groups}, got {shown(item)}")
        return frozenset(ids)


class Emoji(Kind):
    """``label=emoji`` pairs (a TOML table); ``*`` covers other labels (``label`` unless
    given), an empty emoji means no reaction."""

    def read(self, value: object) -> Mapping[str, str]:
        if isinstance(value, str):
            pairs = [pair.partition("=") for pair in value.split(",") if pair.strip()]
        elif isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            pairs = [(k, "=", v) for k, v in value.items()]
        else:
            raise ValueError('must be a table of label = "emoji"')
        mapping = {DEFAULT_EMOJI_KEY: "label"}
        for label, sep, emoji in pairs:
            name, emoji = label.strip(), emoji.strip().strip(":")
            if not sep or not name or (emoji and not _EMOJI.fullmatch(emoji)):
                written = shown(f"{label}{sep}{emoji}".strip())
                raise ValueError(
                    f"must be label=emoji pairs like 'positive=+1,*=label', got {written}"
                )
            mapping[name] = emoji
        return MappingProxyType(mapping)


@dataclass(frozen=True)
class Number(Kind):
    """A finite number from ``low`` to ``high`` (above ``low`` when ``above_low``)."""

    low: float
    high: float
    hint: str
    above_low: bool = False

    def read(self, value: Any) -> float:
        try:
            number = math.nan if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            number = math.nan
        above = number > self.low if self.above_low else number >= self.low
        if not (math.isfinite(number) and above and number <= self.high):
            raise ValueError(f"must be {self.hint}, got {shown(value)}")
        return number


@dataclass(frozen=True)
class Thresholds:
    """A confidence threshold per label: ``labels``' own, else ``default`` (the ``*`` entry)."""

    default: float
    labels: Mapping[str, float] = field(default_factory=dict)

    def of(self, label: str) -> float:
        """The threshold ``label``'s confidence must reach."""
        return self.labels.get(label, self.default)


class LabelThresholds(Kind):
    """One number 0-1 for every label, or ``label=number`` pairs (a TOML table) with ``*`` for
    the other labels (0.8 when left out)."""

    def read(self, value: object) -> Thresholds:
        number = Number(0, 1, "a number between 0 and 1")
        if isinstance(value, str) and "=" in value:
            pairs = [pair.partition("=") for pair in value.split(",") if pair.strip()]
            if any(not label.strip() or not sep for label, sep, _ in pairs):
                raise ValueError(
                    f"must be label=number pairs like 'spam=0.9,*=0.75', got {shown(value)}"
                )
            table: Mapping[str, object] = {label.strip(): text.strip() for label, _, text in pairs}
        elif isinstance(value, dict):
            table = value
        else:
            return Thresholds(number.read(value))
        labels: dict[str, float] = {}
        for label, text in table.items():
            try:
                labels[label] = number.read(text)
            except ValueError:
                raise ValueError(
                    f"must give {shown(label)} a number between 0 and 1, got {shown(text)}"
                ) from None
        default = labels.pop(DEFAULT_EMOJI_KEY, DEFAULT_THRESHOLD)
        return Thresholds(default, MappingProxyType(labels))


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from ``low`` to ``high``."""

    low: int
    high: int

    def read(self, value: str) -> int:
        if not value.isascii() or not value.isdigit() or not self.low <= int(value) <= self.high:
            raise ValueError(
                f"must be a whole number from {self.low} to {self.high}, got {shown(value)}"
            )
        return int(value)


class Boolean(Kind):
    def read(self, value: str | bool) -> bool:
        if isinstance(value, bool):  # a heed.toml value
            return value
        if value.lower() not in _TRUE | _FALSE:
            raise ValueError(f"must be true or false, got {shown(value)}")
        return value.lower() in _TRUE


@dataclass(frozen=True)
class OneOf(Kind):
    """One of ``choices`` (compared in lower case, or upper case when ``upper``)."""

    choices: tuple[str, ...]
    upper: bool = False

    def read(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        choice = value.strip().upper() if self.upper else value.strip().lower()
        if choice not in self.choices:
            many = len(self.choices) > 2
            hint = f"one of {', '.join(self.choices)}" if many else " or ".join(self.choices)
            raise ValueError(f"must be {hint}, got {shown(choice)}")
        return choice


@dataclass(frozen=True)
class Pattern(Kind):
    """Text matching ``pattern`` (in lower case)."""

    pattern: str
    hint: str

    def read(self, value: str) -> str:
        if not re.fullmatch(self.pattern, value.lower()):
            raise ValueError(f"must be {self.hint}, got {shown(value.lower())}")
        return value.lower()


def _shell_words(text: str, what: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise ValueError(f"must be {what}: {exc}") from None


@dataclass(frozen=True)
class Arguments(Kind):
    """Extra command-line options, shell-style, none of ``reserved`` (nor an abbreviation)."""

    reserved: tuple[str, ...]
    unset: tuple[str, ...] = ()

    def read(self, value: str) -> tuple[str, ...]:
        args = _shell_words(value, "shell-style arguments")
        if args and not args[0].startswith("-"):
            raise ValueError(f"must start with an option like --epochs, got {shown(args[0])}")
        for arg in args:
            flag = arg.split("=", 1)[0]
            taken = [r for r in self.reserved if flag.startswith("--") and r.startswith(flag)]
            if len(flag) > 2 and taken:
                named = flag if flag in self.reserved else f"{flag} (short for {taken[0]})"
                raise ValueError(
                    f"must not set {named}: Heed passes {', '.join(self.reserved)} itself"
                )
        return args


class Launcher(Kind):
    """A command prefix, shell-style, that starts ``-m training train`` (``torchrun …``)."""

    unset: tuple[str, ...] = ()

    def read(self, value: str) -> tuple[str, ...]:
        words = _shell_words(value, "a shell-style command")
        if words and words[0].startswith("-"):
            raise ValueError(f"must start with a program like torchrun, got {shown(words[0])}")
        if "training" in words:
            raise ValueError("must not name the module: Heed adds -m training train")
        return words


class ChannelId(Kind):
    """One channel ID (``C0123ABCD``): where Heed posts (a name could be renamed or reused)."""

    def read(self, value: object) -> str:
        if not isinstance(value, str) or not _CHANNEL_ID.fullmatch(value.strip()):
            raise ValueError(f"must be a channel ID like C0123ABCD, got {shown(value)}")
        return value.strip()


class EmojiName(Kind):
    """One emoji name (``:thinking_face:`` or ``thinking_face``)."""

    def read(self, value: object) -> str:
        name = value.strip().strip(":") if isinstance(value, str) else ""
        if not _EMOJI.fullmatch(name):
            raise ValueError(f"must be an emoji name like thinking_face, got {shown(value)}")
        return name


class Schedule(Kind):
    def read(self, value: str) -> DigestSchedule:
        return parse_schedule(value)


class DatabaseUrl(Kind):
    """SQLite or PostgreSQL (through psycopg 3); the password never appears in an error."""

    unset = ""

    def read(self, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "must be a URL like postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"
            ) from None
        safe = url.render_as_string(hide_password=True)
        if url.drivername == "postgresql":  # psycopg 3 is the driver Heed installs
            url = url.set(drivername="postgresql+psycopg")
        if url.drivername not in ("sqlite", "postgresql+psycopg"):
            raise ValueError(f"must be sqlite:///PATH or postgresql+psycopg://…, got {shown(safe)}")
        if not url.database:
            raise ValueError(f"names no database: {shown(safe)}")
        return url.render_as_string(hide_password=False)
