"""One :class:`~bot.serving.holder.ModelHolder` per task, loaded on first use.

The default task's holder is loaded at start-up; any other task's model is loaded the first
time a message, command or admin asks for it, then watched for promotions like the default's.
Every holder loads through one :class:`~classifier.tokenizers.SharedTokenizers`, so tasks
whose tokenizer files are identical (the same base) share one tokenizer object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.serving.holder import ModelHolder
from bot.tasks import Task, Tasks
from classifier.store import ModelStore
from classifier.tokenizers import SharedTokenizers

log = logging.getLogger(__name__)

HolderFactory = Callable[[Task, SharedTokenizers], ModelHolder]


class TaskModels:
    """The serving models of every task: a holder each, created and loaded lazily."""

    def __init__(
        self,
        tasks: Tasks,
        default_holder: ModelHolder,
        *,
        device: str | None = None,
        factory: HolderFactory | None = None,
        tokenizers: SharedTokenizers | None = None,
    ) -> None:
        self.tasks = tasks
        self.tokenizers = tokenizers or SharedTokenizers()
        self._factory: HolderFactory = factory or (
            lambda task, shared: ModelHolder(
                ModelStore(task.model_dir), device=device, tokenizers=shared
            )
        )
        self._holders: dict[str, ModelHolder] = {tasks.default_name: default_holder}
        self._lock = threading.Lock()
        self._loading = {name: threading.Lock() for name in tasks.names}
        self._watching = False

    def holder(self, name: str) -> ModelHolder:
        """The loaded holder of task ``name`` (loading its model now if it is the first use);
        raises KeyError for an unknown task and the holder's NoModelError when it has no
        model yet (nothing is kept, so a later request tries again)."""
        held = self._holders.get(name)
        if held is not None:
            return held
        task = self.tasks.by_name[name]
        with self._loading[name]:  # one load per task; other tasks are not held up
            held = self._holders.get(name)
            if held is not None:
                return held
            loads = self.tokenizers.loads
            holder = self._factory(task, self.tokenizers)
            holder.load()
            shared = "its own" if self.tokenizers.loads > loads else "a shared"
            log.info("task %s: serving model %s (%s tokenizer)", name, holder.version, shared)
            with self._lock:
                self._holders[name] = holder
                if self._watching:
                    holder.start_watching()
            return holder

    def store(self, name: str) -> ModelStore:
        """Task ``name``'s model store, loaded or not (KeyError for an unknown task)."""
        held = self._holders.get(name)
        return held.store if held is not None else ModelStore(self.tasks.by_name[name].model_dir)

    def loaded(self) -> dict[str, ModelHolder]:
        """The holders loaded so far, by task name."""
        with self._lock:
            return dict(self._holders)

    def start_watching(self) -> None:
        """Watch every loaded task's ``current`` (and each one loaded later)."""
        with self._lock:
            self._watching = True
            holders = list(self._holders.values())
        for holder in holders:
            holder.start_watching()

    def stop(self) -> None:
        """Stop every watcher."""
        with self._lock:
            self._watching = False
            holders = list(self._holders.values())
        for holder in holders:
            holder.stop()
