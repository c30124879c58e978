"""The one table of the bot's settings: every environment variable it reads, the kind of its
value, its default (spelled as the variable would be) and the ``heed.toml`` task key that
replaces it.

``docs/configuration.md`` documents each row; ``tests/bot/test_configuration_reference.py``
fails when the two disagree either way. :class:`bot.settings.Settings` and
:class:`bot.tasks.Task` take their defaults from here (:func:`setting`), so each is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.setting_kinds import (
    Arguments,
    Boolean,
    Channels,
    DatabaseUrl,
    Directory,
    Emoji,
    File,
    Files,
    Kind,
    Labels,
    Launcher,
    Number,
    OneOf,
    Pattern,
    Schedule,
    Secret,
    SettingsError,
    SlackIds,
    Text,
    Token,
    Url,
    Whole,
)
from classifier.types import DEFAULT_EXPLAIN_METHOD, EXPLAIN_METHODS
from classifier.uncertainty import SCORES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
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

VARIABLE = "variable"
"""The metadata key of a dataclass field that holds a setting (see :func:`setting`)."""


@dataclass(frozen=True)
class Spec:
    """One setting: its variable, the kind of its value and its default."""

    variable: str
    kind: Kind
    default: str = ""
    """As the variable would spell it; empty: the kind's ``unset`` value."""
    toml: str | None = None
    """The ``[tasks.NAME]`` key (and :class:`~bot.tasks.Task` field) that replaces it."""
    inherited: bool = True
    """Whether a task that leaves its key out takes the variable's value (else the default)."""
    required: bool = False

    def default_value(self) -> Any:
        """The typed default."""
        return self.kind.from_text(self.default) if self.default else self.kind.unset


SPECS: tuple[Spec, ...] = (
    Spec("SLACK_BOT_TOKEN", Token("xoxb-", "a bot"), required=True),
    Spec("SLACK_APP_TOKEN", Token("xapp-", "an app-level")),
    Spec("SLACK_SIGNING_SECRET", Secret()),
    Spec("SLACK_API_URL", Url()),
    Spec("HEED_CONFIG", File()),
    Spec("HEED_MODEL_DIR", Directory(), "models"),
    Spec("HEED_DATA_DIR", Directory(), "var"),
    Spec("HEED_DATABASE_URL", DatabaseUrl()),
    Spec("HEED_BASE_MODEL", Text()),
    Spec("HEED_DEVICE", Pattern(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda or cuda:N"), "auto"),
    Spec("HEED_TORCH_THREADS", Whole(0, 999, unset=0)),
    Spec(
        "HEED_EXPLAIN_METHOD",
        OneOf(EXPLAIN_METHODS),
        DEFAULT_EXPLAIN_METHOD,
        toml="explain_method",
    ),
    Spec("HEED_PRIVATE_REPLIES", Boolean(), "false"),
    Spec("HEED_AUTOTAG_CHANNELS", Channels(), toml="channels", inherited=False),
    Spec(
        "HEED_LABEL_EMOJI",
        Emoji(),
        "positive=+1,negative=-1,neutral=neutral_face",
        toml="label_emoji",
    ),
    Spec("HEED_AUTOTAG_NOTIFY", Labels(), toml="notify"),
    Spec(
        "HEED_AUTOTAG_THRESHOLD",
        Number(0, 1, "a number between 0 and 1"),
        "0.8",
        toml="threshold",
    ),
    Spec("HEED_ADMINS", SlackIds()),
    Spec("HEED_ADMINS_FROM_WORKSPACE", Boolean(), "false"),
    Spec("HEED_LABELERS", SlackIds(groups=True)),
    Spec("HEED_TRAIN_DATA", Files(), toml="train_data", inherited=False),
    Spec("HEED_EVAL_DATA", Files(), toml="eval_data", inherited=False),
    Spec(
        "HEED_RETRAIN_TIMEOUT",
        Number(0, float("inf"), "a positive number of seconds", above_low=True),
        "3600",
    ),
    Spec("HEED_JOB_LEASE", Number(1, 3600, "between 1 and 3600 seconds"), "30"),
    Spec("HEED_RETRAIN_ARGS", Arguments(RESERVED_TRAIN_FLAGS)),
    Spec("HEED_TRAIN_LAUNCHER", Launcher()),
    Spec("HEED_RETENTION_DAYS", Whole(1, 36500), "90"),
    Spec("HEED_KEEP_VERSIONS", Whole(1, 10000), "10"),
    Spec("HEED_QUEUE_SCORE", OneOf(SCORES), "margin"),
    Spec("HEED_QUEUE_SIZE", Whole(1, 100_000), "200"),
    Spec("HEED_QUEUE_DAYS", Whole(1, 3650), "14"),
    Spec("HEED_QUEUE_DIGEST", Schedule(), "off"),
    Spec("HEED_LOG_LEVEL", OneOf(LOG_LEVELS, upper=True), "INFO"),
    Spec("HEED_LOG_FORMAT", OneOf(("text", "json")), "text"),
    Spec("HEED_HTTP_THREADS", Whole(1, 256), "8"),
    Spec("HEED_HTTP_CONNECTIONS", Whole(10, 100_000), "1000"),
    Spec("HEED_HTTP_TIMEOUT", Number(1, 600, "between 1 and 600 seconds"), "10"),
    Spec("HEED_MAX_BODY", Whole(1024, 64 << 20), str(1 << 20)),
    Spec("HEED_JOB_QUEUE", Whole(8, 100_000), "64"),
    Spec("HEED_CLASSIFY_PER_MINUTE", Whole(0, 100_000), "20"),
    Spec("HEED_OPS_PORT", Whole(0, 65535, zero_is_none=True)),
    Spec("HEED_OPS_HOST", Text(), "127.0.0.1"),
)
BY_VARIABLE: Mapping[str, Spec] = {spec.variable: spec for spec in SPECS}
TASK_KEYS: Mapping[str, Spec] = {spec.toml: spec for spec in SPECS if spec.toml}
"""The keys of a ``[tasks.NAME]`` table, in the table's order."""


def read(env: Mapping[str, str], variable: str) -> Any:
    """``variable``'s value in ``env`` (blank counts as unset: the default); raises
    :class:`SettingsError` naming the variable."""
    spec = BY_VARIABLE[variable]
    text = (env.get(variable) or "").strip() or spec.default
    if not text and spec.required:
        raise SettingsError(variable, spec.kind.missing)
    try:
        return spec.kind.from_text(text) if text else spec.kind.unset
    except ValueError as exc:
        raise SettingsError(variable, str(exc)) from None


def setting(variable: str, *, repr: bool = True) -> Any:
    """A dataclass field for ``variable``'s value, its default taken from the table."""
    spec = BY_VARIABLE[variable]
    metadata = {VARIABLE: variable}
    if spec.required:
        return field(repr=repr, metadata=metadata)
    return field(default_factory=spec.default_value, repr=repr, metadata=metadata)
