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

Without the file, today's environment variables make the one task ``default``. Every problem
is one :class:`~bot.env_reader.SettingsError` naming the key (``heed.toml: tasks.support.
threshold …``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.env_reader import DEFAULT_EMOJI_KEY, EnvReader, SettingsError, shown
from classifier.store import DEFAULT_TASK, task_problem, task_root
from classifier.types import DEFAULT_EXPLAIN_METHOD

CONFIG_ENV = "HEED_CONFIG"
DEFAULT_CONFIG = Path("heed.toml")
TASK_KEYS = (
    "channels",
    "label_emoji",
    "notify",
    "threshold",
    "explain_method",
    "train_data",
    "eval_data",
)
_ENV_FOR_KEY = {
    "channels": "HEED_AUTOTAG_CHANNELS",
    "label_emoji": "HEED_LABEL_EMOJI",
    "notify": "HEED_AUTOTAG_NOTIFY",
    "threshold": "HEED_AUTOTAG_THRESHOLD",
    "explain_method": "HEED_EXPLAIN_METHOD",
    "train_data": "HEED_TRAIN_DATA",
    "eval_data": "HEED_EVAL_DATA",
}
"""The environment variable each task key replaces (and reads its value the same way); a key
a task leaves out takes the variable's value, except these, which belong to one task only."""
_NOT_INHERITED = {k: _ENV_FOR_KEY[k] for k in ("channels", "train_data", "eval_data")}


@dataclass(frozen=True)
class Task:
    """One named classifier and everything Heed does with it."""

    name: str
    model_dir: Path
    channels: tuple[str, ...] = ()
    label_emoji: Mapping[str, str] = field(default_factory=dict)
    notify: frozenset[str] = frozenset()
    threshold: float = 0.8
    explain_method: str = DEFAULT_EXPLAIN_METHOD
    train_data: tuple[Path, ...] = ()
    eval_data: tuple[Path, ...] = ()

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


def single(env: Mapping[str, str], model_dir: Path) -> Task:
    """Today's environment variables as the one task ``default`` at the store root."""
    reader = EnvReader(env)
    return Task(
        name=DEFAULT_TASK,
        model_dir=model_dir,
        channels=reader.channels("HEED_AUTOTAG_CHANNELS"),
        label_emoji=reader.emoji("HEED_LABEL_EMOJI"),
        notify=frozenset(reader.items("HEED_AUTOTAG_NOTIFY")),
        threshold=reader.fraction("HEED_AUTOTAG_THRESHOLD", 0.8),
        explain_method=reader.method("HEED_EXPLAIN_METHOD", DEFAULT_EXPLAIN_METHOD),
        train_data=reader.files("HEED_TRAIN_DATA"),
        eval_data=reader.files("HEED_EVAL_DATA"),
    )


def config_path(env: Mapping[str, str]) -> Path | None:
    """``HEED_CONFIG``, else ``./heed.toml`` when it exists, else None (environment only)."""
    named = (env.get(CONFIG_ENV) or "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SettingsError(CONFIG_ENV, f"must name a file, {shown(str(path))} is not one")
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_tasks(env: Mapping[str, str], model_dir: Path) -> Tasks:
    """The tasks from ``heed.toml`` (see :func:`config_path`), else the environment's one.

    Raises :class:`SettingsError` naming the file and key of the first problem.
    """
    path = config_path(env)
    if path is None:
        return Tasks({DEFAULT_TASK: single(env, model_dir)})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(CONFIG_ENV, f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}:", f"is not valid TOML: {exc}") from None
    return parse_tasks(data, model_dir, env, str(path))


def parse_tasks(
    data: Mapping[str, Any], model_dir: Path, env: Mapping[str, str], source: str = "heed.toml"
) -> Tasks:
    """Validate ``heed.toml``'s parsed ``data`` into :class:`Tasks`; a task without a key
    takes the environment variable's value (``HEED_LABEL_EMOJI`` for ``label_emoji``…)."""

    def error(key: str, problem: str) -> SettingsError:
        return SettingsError(f"{source}: {key}", problem)

    unknown = sorted(set(data) - {"tasks", "default_task"})
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
        task = _task(name, table, model_dir, env, lambda k, p, n=name: error(f"tasks.{n}.{k}", p))
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
    name: str,
    table: Mapping[str, Any],
    model_dir: Path,
    env: Mapping[str, str],
    error: Callable[[str, str], SettingsError],
) -> Task:
    unknown = sorted(set(table) - set(TASK_KEYS))
    if unknown:
        raise error(unknown[0], f"is not a known key ({', '.join(TASK_KEYS)})")
    values = {k: v for k, v in env.items() if k not in _NOT_INHERITED.values()}
    for key, value in table.items():
        values[_ENV_FOR_KEY[key]] = _as_env(key, value, error)
    try:
        base = single(values, task_root(model_dir, name))
    except SettingsError as exc:
        key = next(k for k, v in _ENV_FOR_KEY.items() if v == exc.variable)
        problem = str(exc).removeprefix(exc.variable + " ")
        raise error(key, problem) from None
    return Task(**{**base.__dict__, "name": name})


def _as_env(key: str, value: Any, error: Callable[[str, str], SettingsError]) -> str:
    """A TOML value in the environment variable's spelling, so it is checked the same way."""
    if key == "threshold":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(key, f"must be a number between 0 and 1, got {shown(str(value))}")
        return str(value)
    if key == "explain_method":
        if not isinstance(value, str):
            raise error(key, "must be a string")
        return value
    if key == "label_emoji":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise error(key, 'must be a table of label = "emoji"')
        if any("," in k or "=" in k or "," in v for k, v in value.items()):
            raise error(key, "labels and emoji must not contain ',' or '='")
        return ",".join(f"{k}={v}" for k, v in value.items()) or ","
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(key, "must be a list of strings")
    if any("," in v for v in value):
        raise error(key, "items must not contain ','")
    return ",".join(value)
