"""Tasks: several named classifiers in one Heed, from ``heed.toml`` or the environment.

A task has its own model store (``$HEED_MODEL_DIR`` for ``default``, ``$HEED_MODEL_DIR/<task>``
for any other), emoji map, notify labels and threshold, explanation method, training and eval
exports and auto-tagged channels; its labels come from its model. ``heed.toml`` (path from
``HEED_CONFIG``, else ``./heed.toml`` when present) lists them::

    default_task = "moderation"

    [tasks.moderation]
    label_emoji = { harassment = "rotating_light", "*" = "" }

    [tasks.support]
    channels = ["#support", "C0123ABCD"]
    notify = ["bug"]

Each key is read from its TOML value by the kind of the variable it replaces
(:data:`bot.setting_table.TASK_KEYS`); a key a task leaves out takes the variable's value,
except the channels and exports, which belong to one task only. Without the file, the
variables make the one task ``default``. Every problem is one
:class:`~bot.setting_kinds.SettingsError` naming the key (``heed.toml: tasks.support.threshold
…``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.setting_kinds import DEFAULT_EMOJI_KEY, SettingsError
from bot.setting_table import TASK_KEYS, setting
from classifier.store import DEFAULT_TASK, task_problem, task_root

DEFAULT_CONFIG = Path("heed.toml")
TOP_KEYS = ("default_task", "tasks")


@dataclass(frozen=True)
class Task:
    """One named classifier and everything Heed does with it; a field that names a variable
    has that variable's default."""

    name: str
    model_dir: Path
    channels: tuple[str, ...] = setting("HEED_AUTOTAG_CHANNELS")
    label_emoji: Mapping[str, str] = setting("HEED_LABEL_EMOJI")
    notify: frozenset[str] = setting("HEED_AUTOTAG_NOTIFY")
    threshold: float = setting("HEED_AUTOTAG_THRESHOLD")
    explain_method: str = setting("HEED_EXPLAIN_METHOD")
    train_data: tuple[Path, ...] = setting("HEED_TRAIN_DATA")
    eval_data: tuple[Path, ...] = setting("HEED_EVAL_DATA")

    def emoji_for(self, label: str) -> str | None:
        """The reaction for ``label``: its mapping, else the ``*`` default (None = none)."""
        emoji = self.label_emoji.get(label)
        if emoji is None:
            emoji = self.label_emoji.get(DEFAULT_EMOJI_KEY)
        return emoji or None

    def should_notify(self, label: str, confidence: float) -> bool:
        """Whether an auto-tagged message gets a thread note with the heatmap."""
        wanted = label in self.notify or DEFAULT_EMOJI_KEY in self.notify
        return wanted and confidence >= self.threshold


@dataclass(frozen=True)
class Tasks:
    """Every configured task, in file order, and the default one."""

    by_name: Mapping[str, Task]
    default_name: str = DEFAULT_TASK
    source: str = "environment"
    """Where they came from: ``environment`` or the ``heed.toml`` path."""

    @property
    def default(self) -> Task:
        """The task ``/classify`` and unrouted messages use."""
        return self.by_name[self.default_name]

    @property
    def names(self) -> list[str]:
        """The task names, in configuration order."""
        return list(self.by_name)

    def get(self, name: str) -> Task | None:
        """The task called ``name``, or None."""
        return self.by_name.get(name)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)


def load_tasks(path: Path, model_dir: Path, inherited: Task) -> Tasks:
    """The tasks of the ``heed.toml`` at ``path``; a key a task leaves out takes
    ``inherited``'s value (the environment's task).

    Raises :class:`SettingsError` naming the file and key of the first problem.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("HEED_CONFIG", f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}:", f"is not valid TOML: {exc}") from None
    return parse_tasks(data, model_dir, inherited, str(path))


def parse_tasks(
    data: Mapping[str, Any], model_dir: Path, inherited: Task, source: str = "heed.toml"
) -> Tasks:
    """Validate ``heed.toml``'s parsed ``data`` into :class:`Tasks` (see :func:`load_tasks`)."""

    def error(key: str, problem: str) -> SettingsError:
        return SettingsError(f"{source}: {key}", problem)

    unknown = sorted(set(data) - set(TOP_KEYS))
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
        task = _task(
            table,
            replace(inherited, name=name, model_dir=task_root(model_dir, name)),
            lambda k, p, n=name: error(f"tasks.{n}.{k}", p),
        )
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
    return Tasks(MappingProxyType(tasks), default, source)


def _task(
    table: Mapping[str, Any],
    base: Task,
    error: Callable[[str, str], SettingsError],
) -> Task:
    """``base`` with the keys of ``table`` (each read by its variable's kind), and the keys
    that are not inherited at their defaults."""
    unknown = sorted(set(table) - set(TASK_KEYS))
    if unknown:
        raise error(unknown[0], f"is not a known key ({', '.join(TASK_KEYS)})")
    values = {key: spec.default_value() for key, spec in TASK_KEYS.items() if not spec.inherited}
    for key, value in table.items():
        try:
            values[key] = TASK_KEYS[key].kind.from_toml(value)
        except ValueError as exc:
            raise error(key, str(exc)) from None
    return replace(base, **values)
