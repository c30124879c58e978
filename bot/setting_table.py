"""The one table of the bot's settings: each variable's kind, default and ``heed.toml`` task key
(``docs/configuration.md`` is checked against it); Settings and Task fields read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import setting_kinds as kinds
from bot.setting_kinds import Kind, SettingsError
from classifier.types import DEFAULT_EXPLAIN_METHOD, EXPLAIN_METHODS
from classifier.uncertainty import SCORES

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
"""Training flags the retrain runner sets itself; ``HEED_RETRAIN_ARGS`` may not repeat them."""
ACTING_MODES = ("act", "suggest")
"""``act``: auto-tagging reacts and notes in the channel; ``suggest``: only the review channel."""
BOT_TOKEN_MISSING = "is required: a bot token (xoxb-…) of the app"
VARIABLE = "variable"  # the metadata key naming a field's variable


@dataclass(frozen=True)
class Spec:
    """One variable: its kind, default as text (empty: ``kind.unset``), the ``[tasks.NAME]`` key
    replacing it, whether a task lacking that key inherits it, and the problem if required."""

    variable: str
    kind: Kind
    default: str = ""
    toml: str | None = None
    inherited: bool = True
    required: str = ""

    def default_value(self) -> Any:
        """The typed default."""
        return self.kind.read(self.default) if self.default else self.kind.unset


SPECS: tuple[Spec, ...] = (
    Spec("SLACK_BOT_TOKEN", kinds.Token("xoxb-", "a bot"), required=BOT_TOKEN_MISSING),
    Spec("SLACK_APP_TOKEN", kinds.Token("xapp-", "an app-level")),
    Spec("SLACK_SIGNING_SECRET", kinds.Secret()),
    Spec("SLACK_API_URL", kinds.Url()),
    Spec("HEED_CONFIG", kinds.File()),
    Spec("HEED_MODEL_DIR", kinds.Directory(), "models"),
    Spec("HEED_DATA_DIR", kinds.Directory(), "var"),
    Spec("HEED_DATABASE_URL", kinds.DatabaseUrl()),
    Spec("HEED_BASE_MODEL", kinds.Text()),
    Spec(
        "HEED_DEVICE", kinds.Pattern(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda or cuda:N"), "auto"
    ),
    Spec("HEED_TORCH_THREADS", kinds.Whole(0, 999)),
    Spec(
        "HEED_EXPLAIN_METHOD",
        kinds.OneOf(EXPLAIN_METHODS),
        DEFAULT_EXPLAIN_METHOD,
        toml="explain_method",
    ),
    Spec("HEED_PRIVATE_REPLIES", kinds.Boolean(), "false"),
    Spec("HEED_AUTOTAG_CHANNELS", kinds.Channels(), toml="channels", inherited=False),
    Spec(
        "HEED_LABEL_EMOJI",
        kinds.Emoji(),
        "positive=+1,negative=-1,neutral=neutral_face",
        toml="label_emoji",
    ),
    Spec("HEED_AUTOTAG_NOTIFY", kinds.Labels(), toml="notify"),
    Spec("HEED_AUTOTAG_THRESHOLD", kinds.LabelThresholds(), "0.8", toml="threshold"),
    Spec("HEED_AUTOTAG_MODE", kinds.OneOf(ACTING_MODES), ACTING_MODES[0], toml="mode"),
    Spec(
        "HEED_ABSTAIN_BELOW",
        kinds.Number(0, 1, "a number between 0 and 1"),
        "0",
        toml="abstain_below",
    ),
    Spec("HEED_NOT_SURE_EMOJI", kinds.EmojiName(), toml="not_sure_emoji"),
    Spec("HEED_REVIEW_CHANNEL", kinds.ChannelId(), toml="review_channel"),
    Spec("HEED_THREAD_NOTE", kinds.Boolean(), "true", toml="thread_note"),
    Spec("HEED_ADMINS", kinds.SlackIds(), toml="admins"),
    Spec("HEED_ADMINS_FROM_WORKSPACE", kinds.Boolean(), "false"),
    Spec("HEED_LABELERS", kinds.SlackIds(groups=True), toml="labelers"),
    Spec("HEED_TRAIN_DATA", kinds.Files(), toml="train_data", inherited=False),
    Spec("HEED_EVAL_DATA", kinds.Files(), toml="eval_data", inherited=False),
    Spec(
        "HEED_RETRAIN_TIMEOUT",
        kinds.Number(0, float("inf"), "a positive number of seconds", above_low=True),
        "3600",
    ),
    Spec("HEED_JOB_LEASE", kinds.Number(1, 3600, "between 1 and 3600 seconds"), "30"),
    Spec("HEED_RETRAIN_ARGS", kinds.Arguments(RESERVED_TRAIN_FLAGS)),
    Spec("HEED_TRAIN_LAUNCHER", kinds.Launcher()),
    Spec("HEED_RETENTION_DAYS", kinds.Whole(1, 36500), "90"),
    Spec("HEED_AUDIT_DAYS", kinds.Whole(1, 36500), "365"),
    Spec("HEED_KEEP_VERSIONS", kinds.Whole(1, 10000), "10"),
    Spec("HEED_LOADED_TASKS", kinds.Whole(1, 1000), "8"),
    Spec("HEED_TASK_IDLE_MINUTES", kinds.Whole(0, 100_000), "60"),
    Spec("HEED_QUEUE_SCORE", kinds.OneOf(SCORES), "margin"),
    Spec("HEED_QUEUE_SIZE", kinds.Whole(1, 100_000), "200"),
    Spec("HEED_QUEUE_DAYS", kinds.Whole(1, 3650), "14"),
    Spec("HEED_QUEUE_DIGEST", kinds.Schedule(), "off"),
    Spec("HEED_DRIFT_PSI", kinds.Number(0, 10, "a number from 0 (off) to 10"), "0.05"),
    Spec("HEED_DRY_RUN_MAX", kinds.Whole(1, 100_000), "5000"),
    Spec("HEED_DOUBLE_LABEL", kinds.Number(0, 1, "a number between 0 and 1"), "0"),
    Spec("HEED_APPEALS_PER_DAY", kinds.Whole(0, 1000), "3"),
    Spec("HEED_LOG_LEVEL", kinds.OneOf(("DEBUG", "INFO", "WARNING", "ERROR"), upper=True), "INFO"),
    Spec("HEED_LOG_FORMAT", kinds.OneOf(("text", "json")), "text"),
    Spec("HEED_HTTP_THREADS", kinds.Whole(1, 256), "8"),
    Spec("HEED_HTTP_CONNECTIONS", kinds.Whole(10, 100_000), "1000"),
    Spec("HEED_HTTP_TIMEOUT", kinds.Number(1, 600, "between 1 and 600 seconds"), "10"),
    Spec("HEED_MAX_BODY", kinds.Whole(1024, 64 << 20), str(1 << 20)),
    Spec("HEED_JOB_QUEUE", kinds.Whole(8, 100_000), "64"),
    Spec("HEED_AUTOTAG_MAX_AGE", kinds.Number(60, 86400, "between 60 and 86400 seconds"), "3600"),
    Spec("HEED_CLASSIFY_PER_MINUTE", kinds.Whole(0, 100_000), "20"),
    Spec("HEED_OPS_PORT", kinds.Whole(0, 65535)),
    Spec("HEED_OPS_HOST", kinds.Text(), "127.0.0.1"),
    Spec("HEED_OPS_PUBLIC", kinds.Boolean(), "false"),
)
BY_VARIABLE: Mapping[str, Spec] = {spec.variable: spec for spec in SPECS}
TASK_KEYS: Mapping[str, Spec] = {spec.toml: spec for spec in SPECS if spec.toml}
"""The keys of a ``[tasks.NAME]`` table, in the table's order."""


def read(env: Mapping[str, str], variable: str) -> Any:
    """``variable``'s value in ``env`` (blank: the default); raises :class:`SettingsError`."""
    spec = BY_VARIABLE[variable]
    text = (env.get(variable) or "").strip() or spec.default
    if not text and spec.required:
        raise SettingsError(variable, spec.required)
    try:
        return spec.kind.read(text) if text else spec.kind.unset
    except ValueError as exc:
        raise SettingsError(variable, str(exc)) from None


def setting(variable: str, *, repr: bool = True) -> Any:
    """A dataclass field for ``variable``'s value, its default taken from the table."""
    spec = BY_VARIABLE[variable]
    metadata = {VARIABLE: variable}
    if spec.required:
        return field(repr=repr, metadata=metadata)
    return field(default_factory=spec.default_value, repr=repr, metadata=metadata)
