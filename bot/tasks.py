"""Several named classifiers in one Heed, from ``heed.toml``; a key a task leaves out takes the
variable's value, except the channels and exports, which belong to one task only."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from bot.setting_kinds import DEFAULT_EMOJI_KEY, SettingsError, Thresholds
from bot.setting_table import TASK_KEYS, setting
from classifier.store import DEFAULT_TASK, task_problem, task_root

DEFAULT_CONFIG = Path("heed.toml")


@dataclass(frozen=True)
class Task:
    """One named classifier; a field that names a variable has that variable's default."""

    name: str
    model_dir: Path
    channels: tuple[str, ...] = setting("HEED_AUTOTAG_CHANNELS")
    label_emoji: Mapping[str, str] = setting("HEED_LABEL_EMOJI")
    notify: frozenset[str] = setting("HEED_AUTOTAG_NOTIFY")
    threshold: Thresholds = setting("HEED_AUTOTAG_THRESHOLD")  # noqa: RUF009 (a field)
    mode: str = setting("HEED_AUTOTAG_MODE")
    abstain_below: float = setting("HEED_ABSTAIN_BELOW")
    not_sure_emoji: str | None = setting("HEED_NOT_SURE_EMOJI")
    review_channel: str | None = setting("HEED_REVIEW_CHANNEL")
    thread_note: bool = setting("HEED_THREAD_NOTE")
    explain_method: str = setting("HEED_EXPLAIN_METHOD")
    train_data: tuple[Path, ...] = setting("HEED_TRAIN_DATA")
    eval_data: tuple[Path, ...] = setting("HEED_EVAL_DATA")
    admins: frozenset[str] | None = None  # who administers it (None: HEED_ADMINS)
    labelers: frozenset[str] | None = None  # who labels it, gets its queue (None: HEED_LABELERS)

    def emoji_for(self, label: str) -> str | None:
        """The reaction for ``label``: its mapping, else the ``*`` default (None = none)."""
        return self.label_emoji.get(label, self.label_emoji.get(DEFAULT_EMOJI_KEY)) or None

    def notifies(self, label: str) -> bool:
        """Whether ``label`` is a notify label (``*``: every label)."""
        return label in self.notify or DEFAULT_EMOJI_KEY in self.notify

    def should_notify(self, label: str, confidence: float) -> bool:
        """Whether an auto-tagged message is flagged: a notify label at or above its threshold."""
        return self.notifies(label) and confidence >= self.threshold.of(label)

    def abstains(self, confidence: float) -> bool:
        """Whether Heed is "not sure": the top confidence is below ``abstain_below``."""
        return confidence < self.abstain_below


@dataclass(frozen=True)
class Tasks:
    """Every configured task, in file order, and the default one."""

    by_name: Mapping[str, Task]
    default_name: str = DEFAULT_TASK

    @property
    def default(self) -> Task:
        """The task ``/classify`` and unrouted messages use."""
        return self.by_name[self.default_name]

    @property
    def names(self) -> list[str]:
        """The task names, in configuration order."""
        return list(self.by_name)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)


def load_tasks(path: Path, model_dir: Path, inherited: Task) -> Tasks:
    """The tasks of the ``heed.toml`` at ``path``; a key a task leaves out takes
    ``inherited``'s value. Raises :class:`SettingsError` naming the first bad key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("HEED_CONFIG", f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}:", f"is not valid TOML: {exc}") from None

    def error(key: str, problem: str) -> SettingsError:
        return SettingsError(f"{path}: {key}", problem)

    unknown = sorted(set(data) - {"default_task", "tasks"})
    if unknown:
        raise error(unknown[0], "is not a known key (default_task, [tasks.NAME])")
    tables = data.get("tasks")
    if not isinstance(tables, dict) or not tables:
        raise error("tasks", "must have at least one [tasks.NAME] table")
    tasks: dict[str, Task] = {}
    owner: dict[str, str] = {}
    for name, table in tables.items():
        problem = task_problem(name)
        if problem is not None:
            raise error(f"tasks.{name}", f"is a bad task name: it {problem}")
        if not isinstance(table, dict):
            raise error(f"tasks.{name}", "must be a table ([tasks.NAME])")
        unknown = sorted(set(table) - set(TASK_KEYS))
        if unknown:
            raise error(
                f"tasks.{name}.{unknown[0]}", f"is not a known key ({', '.join(TASK_KEYS)})"
            )
        values = {k: spec.default_value() for k, spec in TASK_KEYS.items() if not spec.inherited}
        for key, value in table.items():
            try:
                values[key] = TASK_KEYS[key].kind.read(value)
            except ValueError as exc:
                raise error(f"tasks.{name}.{key}", str(exc)) from None
        task = replace(inherited, name=name, model_dir=task_root(model_dir, name), **values)
        for channel in task.channels:
            if channel in owner:
                raise error(
                    f"tasks.{name}.channels",
                    f"lists {channel}, which already belongs to the task {owner[channel]}",
                )
            owner[channel] = name
        tasks[name] = task
    default = data.get("default_task", DEFAULT_TASK if DEFAULT_TASK in tasks else next(iter(tasks)))
    if not isinstance(default, str) or default not in tasks:
        raise error("default_task", f"must name one of the tasks ({', '.join(tasks)})")
    return Tasks(MappingProxyType(tasks), default)
