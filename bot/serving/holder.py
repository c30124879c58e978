"""The serving classifiers: a ModelHolder per task, swapped atomically when the store's
``current`` moves (polled, so another process's promotion is served without a restart)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.preflight import HOW_TO_TRAIN
from bot.tasks import Tasks
from bot.ticker import Ticker
from classifier.store import ModelNotFoundError, ModelStore
from classifier.tokenizers import SharedTokenizers

if TYPE_CHECKING:
    from classifier.model import Classifier

log = logging.getLogger(__name__)


def load_classifier(
    version: str,
    store: ModelStore,
    device: str | None = None,
    tokenizers: SharedTokenizers | None = None,
) -> Classifier:
    """Load ``version`` and run it once, so the first request is not slow."""
    from classifier import heatmap
    from classifier.model import Classifier

    classifier = Classifier.load(version, store=store, device=device, tokenizers=tokenizers)
    classifier.predict(["warm up"])
    heatmap.render(classifier.explain("warm up", "attention"))  # also loads the fonts
    return classifier


class ModelHolder(Ticker):
    """Holds the serving classifier; :meth:`start` polls ``current`` every ``poll_interval`` s."""

    thread_name = "model-watcher"

    def __init__(
        self,
        store: ModelStore,
        *,
        device: str | None = None,
        loader: Callable[[str, ModelStore], Classifier] | None = None,
        poll_interval: float = 2.0,
        tokenizers: SharedTokenizers | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.poll_interval = poll_interval
        self._loader = loader or (lambda v, s: load_classifier(v, s, device, tokenizers))
        self._current: Classifier | None = None
        self._reload_lock = threading.Lock()
        self._failed: str | None = None
        self.fallback: str | None = None
        """Why an older version serves when ``current`` cannot be loaded (log and App Home)."""

    def get(self) -> Classifier:
        """The serving classifier; keep the reference for the whole request."""
        current = self._current
        if current is None:
            raise ModelNotFoundError("the model is not loaded yet")
        return current

    @property
    def version(self) -> str | None:
        """The serving version, or None before the first load."""
        return self._current.version if self._current is not None else None

    def load(self) -> Classifier:
        """Load ``current`` at start-up, else the newest loadable version of the promotion
        history (leaving the pointer for an operator); raises when none loads."""
        wanted = self.store.current()
        if wanted is None:
            raise ModelNotFoundError(HOW_TO_TRAIN.format(root=self.store.root))
        try:
            self.reload()
        except Exception as exc:
            self._fall_back(wanted, exc)
        return self.get()

    def _fall_back(self, wanted: str, error: Exception) -> None:
        log.error("cannot load the current model %s: %s", wanted, error)
        for version in [v for v in reversed(self.store.history()) if v != wanted]:
            try:
                fresh = self._loader(version, self.store)
            except Exception as exc:
                log.error("cannot load %s either: %s", version, exc)
                continue
            with self._reload_lock:
                self._current, self._failed = fresh, wanted
            self.fallback = (
                f"the current model {wanted} cannot be loaded ({type(error).__name__}: "
                f"{' '.join(str(error).split())[:200]}); serving {version}, the newest loadable "
                "version in the promotion history, until it is fixed or another is promoted"
            )
            log.warning("%s", self.fallback)
            return
        raise error

    def reload(self) -> bool:
        """Swap in the store's current version if it differs; True when swapped. A version
        that fails to load is logged and skipped until the pointer moves again."""
        with self._reload_lock:
            wanted = self.store.current()
            if wanted is None or wanted == self.version or wanted == self._failed:
                return False
            try:
                fresh = self._loader(wanted, self.store)
            except Exception:
                if self._current is None:
                    raise
                self._failed = wanted
                log.exception("cannot load model %s; still serving %s", wanted, self.version)
                return False
            previous, self._current, self._failed = self.version, fresh, None
            self.fallback = None
        log.info("serving model %s (was %s)", fresh.version, previous or "none")
        return True

    tick = reload

    def wait_s(self) -> float:
        return self.poll_interval


class TaskModels:
    """A holder per task, created and loaded on first use; tasks whose tokenizer files are
    identical share one tokenizer object."""

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
