"""Typed, validated reads of environment variables: each problem is one
:class:`SettingsError` naming the variable, never showing a secret's value."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlparse

from bot.schedule import DigestSchedule, parse_schedule
from classifier.types import EXPLAIN_METHODS
from classifier.uncertainty import SCORES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
DEFAULT_EMOJI_KEY = "*"
DEFAULT_LABEL_EMOJI = MappingProxyType(
    {"positive": "+1", "negative": "-1", "neutral": "neutral_face", DEFAULT_EMOJI_KEY: "label"}
)
_EMOJI = re.compile(r"[a-z0-9_+'-]{1,100}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_GROUP_ID = re.compile(r"S[A-Z0-9]+")


class SettingsError(ValueError):
    """A missing or malformed setting; ``str()`` is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


def shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def split_list(value: str) -> list[str]:
    """Split a comma- (or whitespace-) separated setting into its non-empty items."""
    return [item for item in re.split(r"[,\s]+", value.strip()) if item]


class EnvReader:
    """Typed getters over an environment mapping; each raises :class:`SettingsError` naming the
    variable."""

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
            raise SettingsError(name, f"must be an http(s) URL, got {shown(value)}")
        return value if value.endswith("/") else value + "/"

    def directory(self, name: str, default: str) -> Path:
        path = Path(self.raw(name) or default).expanduser()
        if path.exists() and not path.is_dir():
            raise SettingsError(name, f"must be a directory, got the file {shown(str(path))}")
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
                    f"must list channel IDs (C0123ABCD) or names (#support), got {shown(item)}",
                )
        return tuple(out)

    def user_ids(self, name: str) -> list[str]:
        ids = self.items(name)
        for item in ids:
            if not _USER_ID.fullmatch(item):
                raise SettingsError(
                    name, f"must list Slack user IDs (U0123ABCD), got {shown(item)}"
                )
        return ids

    def labelers(self, name: str) -> list[str]:
        ids = self.items(name)
        for item in ids:
            if not (_USER_ID.fullmatch(item) or _GROUP_ID.fullmatch(item)):
                raise SettingsError(
                    name,
                    f"must list Slack user IDs (U0123ABCD) or user-group IDs (S0123ABCD), "
                    f"got {shown(item)}",
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
                    name,
                    f"must be label=emoji pairs like 'positive=+1,*=label', got {shown(pair)}",
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
            raise SettingsError(name, f"must be {hint}, got {shown(value)}")
        return number

    def whole(self, name: str, default: int, low: int, high: int) -> int:
        """A whole number between ``low`` and ``high`` (inclusive)."""
        value = self.raw(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
            raise SettingsError(
                name, f"must be a whole number from {low} to {high}, got {shown(value)}"
            )
        return int(value)

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
        raise SettingsError(name, f"must be true or false, got {shown(value)}")

    def files(self, name: str) -> tuple[Path, ...]:
        paths = tuple(Path(item).expanduser() for item in self.items(name))
        for path in paths:
            if not path.is_file():
                raise SettingsError(
                    name, f"must list existing files, {shown(str(path))} is not one"
                )
        return paths

    def seconds(self, name: str, default: float) -> float:
        return self.number(
            name, default, lambda x: 0 < x < float("inf"), "a positive number of seconds"
        )

    def _shell_words(self, name: str, what: str) -> list[str]:
        """The variable split like a shell would (none when unset); ``what`` names the form
        in the error."""
        value = self.raw(name)
        if value is None:
            return []
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise SettingsError(name, f"must be {what}: {exc}") from None

    def arguments(self, name: str, reserved: tuple[str, ...]) -> tuple[str, ...]:
        args = self._shell_words(name, "shell-style arguments")
        if args and not args[0].startswith("-"):
            raise SettingsError(
                name, f"must start with an option like --epochs, got {shown(args[0])}"
            )
        for arg in args:
            flag = arg.split("=", 1)[0]
            taken = [r for r in reserved if flag.startswith("--") and r.startswith(flag)]
            if len(flag) > 2 and taken:
                named = flag if flag in reserved else f"{flag} (short for {taken[0]})"
                raise SettingsError(
                    name, f"must not set {named}: Heed passes {', '.join(reserved)} itself"
                )
        return tuple(args)

    def launcher(self, name: str) -> tuple[str, ...]:
        """A command prefix, shell-style, that starts ``-m training train`` (e.g.
        ``torchrun --nproc-per-node 2``); empty when unset."""
        words = self._shell_words(name, "a shell-style command")
        if words and words[0].startswith("-"):
            raise SettingsError(
                name, f"must start with a program like torchrun, got {shown(words[0])}"
            )
        if "training" in words:
            raise SettingsError(name, "must not name the module: Heed adds -m training train")
        return tuple(words)

    def choice(self, name: str, default: str, pattern: re.Pattern[str], hint: str) -> str:
        value = (self.raw(name) or default).lower()
        if not pattern.fullmatch(value):
            raise SettingsError(name, f"must be {hint}, got {shown(value)}")
        return value

    def method(self, name: str, default: str) -> str:
        value = (self.raw(name) or default).lower()
        if value not in EXPLAIN_METHODS:
            raise SettingsError(
                name, f"must be one of {', '.join(EXPLAIN_METHODS)}, got {shown(value)}"
            )
        return value

    def schedule(self, name: str) -> DigestSchedule:
        """A digest schedule (:mod:`bot.schedule`): off when unset."""
        try:
            return parse_schedule(self.raw(name) or "off")
        except ValueError as exc:
            raise SettingsError(name, str(exc)) from None

    def score(self, name: str, default: str) -> str:
        """An uncertainty score name (:data:`classifier.uncertainty.SCORES`)."""
        value = (self.raw(name) or default).lower()
        if value not in SCORES:
            raise SettingsError(name, f"must be {' or '.join(SCORES)}, got {shown(value)}")
        return value

    def log_level(self, name: str, default: str) -> str:
        value = (self.raw(name) or default).upper()
        if value not in LOG_LEVELS:
            raise SettingsError(name, f"must be one of {', '.join(LOG_LEVELS)}, got {shown(value)}")
        return value
