"""The kinds of setting value: how each is read from an environment variable's text, and (for a
task's keys) from a ``heed.toml`` value, through the same checks.

A kind raises ``ValueError`` with the problem only (``must be a number between 0 and 1, got
'2'``); the caller prefixes what was set (``HEED_AUTOTAG_THRESHOLD`` or ``heed.toml:
tasks.support.threshold``) as one :class:`SettingsError`. A secret's value is never shown.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.schedule import DigestSchedule, parse_schedule

DEFAULT_EMOJI_KEY = "*"
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


def shown(value: str, limit: int = 60) -> str:
    """``value`` quoted for an error message, cut at ``limit`` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def split_list(value: str) -> list[str]:
    """Split a comma- (or whitespace-) separated setting into its non-empty items."""
    return [item for item in re.split(r"[,\s]+", value.strip()) if item]


def _strings(value: object) -> list[str]:
    """A TOML list of strings, stripped, empty ones dropped."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return [v.strip() for v in value if v.strip()]


class Kind:
    """How one setting's value is read. ``unset`` is the value of an unset variable."""

    unset: Any = None

    @property
    def missing(self) -> str:
        """The problem when a required variable is unset."""
        return "is required"

    def from_text(self, text: str) -> Any:
        """The value of an environment variable's (stripped, non-empty) text."""
        raise NotImplementedError

    def from_toml(self, value: object) -> Any:
        """The value of a ``heed.toml`` key (only the kinds of a task's keys have one)."""
        raise ValueError("cannot be set in heed.toml")


@dataclass(frozen=True)
class Token(Kind):
    """A Slack token starting with ``prefix``."""

    prefix: str
    what: str

    @property
    def missing(self) -> str:
        return f"is required: {self.what} token ({self.prefix}…) of the app"

    def from_text(self, text: str) -> str:
        if not text.startswith(self.prefix) or re.search(r"\s", text):
            raise ValueError(
                f"must be {self.what} token starting with '{self.prefix}' (value not shown)"
            )
        return text


class Secret(Kind):
    def from_text(self, text: str) -> str:
        if re.search(r"\s", text):
            raise ValueError("must not contain whitespace (value not shown)")
        return text


class Text(Kind):
    def from_text(self, text: str) -> str:
        return text


class Url(Kind):
    """An http(s) URL, ending in ``/``."""

    def from_text(self, text: str) -> str:
        parsed = urlparse(text)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an http(s) URL, got {shown(text)}")
        return text if text.endswith("/") else text + "/"


class Directory(Kind):
    """A directory, or a path where one may be made (not a file)."""

    def from_text(self, text: str) -> Path:
        path = Path(text).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(f"must be a directory, got the file {shown(str(path))}")
        return path


class File(Kind):
    def from_text(self, text: str) -> Path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"must name a file, {shown(str(path))} is not one")
        return path


class Files(Kind):
    """Existing files, comma-separated (a TOML list)."""

    unset: tuple[Path, ...] = ()

    def from_text(self, text: str) -> tuple[Path, ...]:
        return self._checked(split_list(text))

    def from_toml(self, value: object) -> tuple[Path, ...]:
        return self._checked(_strings(value))

    @staticmethod
    def _checked(items: list[str]) -> tuple[Path, ...]:
        paths = tuple(Path(item).expanduser() for item in items)
        for path in paths:
            if not path.is_file():
                raise ValueError(f"must list existing files, {shown(str(path))} is not one")
        return paths


class Channels(Kind):
    """Channel IDs (``C0123ABCD``) or names, kept as ``#name`` in lower case."""

    unset: tuple[str, ...] = ()

    def from_text(self, text: str) -> tuple[str, ...]:
        return self._checked(split_list(text))

    def from_toml(self, value: object) -> tuple[str, ...]:
        return self._checked(_strings(value))

    @staticmethod
    def _checked(items: list[str]) -> tuple[str, ...]:
        out = []
        for item in items:
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

    def from_text(self, text: str) -> frozenset[str]:
        return frozenset(split_list(text))

    def from_toml(self, value: object) -> frozenset[str]:
        return frozenset(_strings(value))


@dataclass(frozen=True)
class SlackIds(Kind):
    """Slack user IDs (``U…``/``W…``), and user-group IDs (``S…``) when ``groups``."""

    groups: bool = False
    unset: frozenset[str] = frozenset()

    def from_text(self, text: str) -> frozenset[str]:
        ids = split_list(text)
        for item in ids:
            if _USER_ID.fullmatch(item) or (self.groups and _GROUP_ID.fullmatch(item)):
                continue
            groups = " or user-group IDs (S0123ABCD)" if self.groups else ""
            raise ValueError(f"must list Slack user IDs (U0123ABCD){groups}, got {shown(item)}")
        return frozenset(ids)


class Emoji(Kind):
    """``label=emoji`` pairs (a TOML table); ``*`` covers other labels (``label`` unless
    given), an empty emoji means no reaction."""

    OTHER = "label"

    def from_text(self, text: str) -> Mapping[str, str]:
        pairs = []
        for pair in (p.strip() for p in text.split(",")):
            if not pair:
                continue
            label, sep, emoji = (part.strip() for part in pair.partition("="))
            if not sep:
                raise ValueError(self._hint(pair))
            pairs.append((label, emoji, pair))
        return self._checked(pairs)

    def from_toml(self, value: object) -> Mapping[str, str]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError('must be a table of label = "emoji"')
        return self._checked([(k.strip(), v.strip(), f"{k} = {v}") for k, v in value.items()])

    def _checked(self, pairs: list[tuple[str, str, str]]) -> Mapping[str, str]:
        mapping = {DEFAULT_EMOJI_KEY: self.OTHER}
        for label, emoji, written in pairs:
            emoji = emoji.strip(":")
            if not label or (emoji and not _EMOJI.fullmatch(emoji)):
                raise ValueError(self._hint(written))
            mapping[label] = emoji
        return MappingProxyType(mapping)

    @staticmethod
    def _hint(written: str) -> str:
        return f"must be label=emoji pairs like 'positive=+1,*=label', got {shown(written)}"


@dataclass(frozen=True)
class Number(Kind):
    """A finite number from ``low`` to ``high`` (above ``low`` when ``above_low``)."""

    low: float
    high: float
    hint: str
    above_low: bool = False

    def from_text(self, text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        return self._checked(number, text)

    def from_toml(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {self.hint}, got {shown(str(value))}")
        return self._checked(float(value), str(value))

    def _checked(self, number: float, written: str) -> float:
        above = number > self.low if self.above_low else number >= self.low
        if not (math.isfinite(number) and above and number <= self.high):
            raise ValueError(f"must be {self.hint}, got {shown(written)}")
        return number


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from ``low`` to ``high``; 0 reads as None when ``zero_is_none``."""

    low: int
    high: int
    unset: int | None = None
    zero_is_none: bool = False

    def from_text(self, text: str) -> int | None:
        if not text.isascii() or not text.isdigit() or not self.low <= int(text) <= self.high:
            raise ValueError(
                f"must be a whole number from {self.low} to {self.high}, got {shown(text)}"
            )
        return None if self.zero_is_none and int(text) == 0 else int(text)


class Boolean(Kind):
    def from_text(self, text: str) -> bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"must be true or false, got {shown(text)}")


@dataclass(frozen=True)
class OneOf(Kind):
    """One of ``choices`` (compared in lower case, or upper case when ``upper``)."""

    choices: tuple[str, ...]
    upper: bool = False

    def from_text(self, text: str) -> str:
        value = text.upper() if self.upper else text.lower()
        if value not in self.choices:
            hint = (
                " or ".join(self.choices)
                if len(self.choices) == 2
                else f"one of {', '.join(self.choices)}"
            )
            raise ValueError(f"must be {hint}, got {shown(value)}")
        return value

    def from_toml(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return self.from_text(value.strip())


@dataclass(frozen=True)
class Pattern(Kind):
    """Text matching ``pattern`` (in lower case)."""

    pattern: str
    hint: str

    def from_text(self, text: str) -> str:
        value = text.lower()
        if not re.fullmatch(self.pattern, value):
            raise ValueError(f"must be {self.hint}, got {shown(value)}")
        return value


def _shell_words(text: str, what: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"must be {what}: {exc}") from None


@dataclass(frozen=True)
class Arguments(Kind):
    """Extra command-line options, shell-style, none of ``reserved`` (nor an abbreviation)."""

    reserved: tuple[str, ...]
    unset: tuple[str, ...] = ()

    def from_text(self, text: str) -> tuple[str, ...]:
        args = _shell_words(text, "shell-style arguments")
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
        return tuple(args)


class Launcher(Kind):
    """A command prefix, shell-style, that starts ``-m training train`` (e.g. ``torchrun
    --nproc-per-node 2``)."""

    unset: tuple[str, ...] = ()

    def from_text(self, text: str) -> tuple[str, ...]:
        words = _shell_words(text, "a shell-style command")
        if words and words[0].startswith("-"):
            raise ValueError(f"must start with a program like torchrun, got {shown(words[0])}")
        if "training" in words:
            raise ValueError("must not name the module: Heed adds -m training train")
        return tuple(words)


class Schedule(Kind):
    """A digest schedule (:mod:`bot.schedule`)."""

    def from_text(self, text: str) -> DigestSchedule:
        return parse_schedule(text)


class DatabaseUrl(Kind):
    """SQLite or PostgreSQL (through psycopg 3); the password never appears in an error."""

    unset = ""

    def from_text(self, text: str) -> str:
        try:
            url = make_url(text)
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
