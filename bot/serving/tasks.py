"""One :class:`~bot.serving.holder.ModelHolder` per task, loaded on first use and watched;
tasks whose tokenizer files are identical share one tokenizer object."""

from __future__ import annotations

import logging
import threading

from bot.serving.holder import ModelHolder
from bot.tasks import Tasks
from classifier.store import ModelStore
from classifier.tokenizers import SharedTokenizers

log = logging.getLogger(__name__)


class TaskModels:
    """The serving models of every task: a holder each, created and loaded lazily."""

    def __init__(
        self,
        tasks: Tasks,
        default_holder: ModelHolder,
        *,
        device: str | None = None,
        tokenizers: SharedTokenizers | None = None,
    ) -> None:
        self.tasks = tasks
        self.device = device
        self.tokenizers = tokenizers or SharedTokenizers()
        self._holders: dict[str, ModelHolder] = {tasks.default_name: default_holder}
        self._lock = threading.Lock()
        self._loading = {name: threading.Lock() for name in tasks.names}
        self._watching = False

    def holder(self, name: str) -> ModelHolder:
        """Task ``name``'s loaded holder, loading it on first use; KeyError for an unknown
        task, ModelNotFoundError when it has no model yet (a later request retries)."""
        with self._loading[name]:  # one load per task; other tasks are not held up
            if (held := self._holders.get(name)) is not None:
                return held
            loads = self.tokenizers.loads
            holder = ModelHolder(self.store(name), device=self.device, tokenizers=self.tokenizers)
            holder.load()
            shared = "its own" if self.tokenizers.loads > loads else "a shared"
            log.info("task %s: serving model %s (%s tokenizer)", name, holder.version, shared)
            with self._lock:
                self._holders[name] = holder
                if self._watching:
                    holder.start()
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
        for holder in self._set_watching(True):
            holder.start()

    def stop(self) -> None:
        """Stop every watcher."""
        for holder in self._set_watching(False):
            holder.stop()

    def _set_watching(self, on: bool) -> list[ModelHolder]:
        with self._lock:
            self._watching = on
            return list(self._holders.values())
