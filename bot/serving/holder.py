"""The serving classifiers: a ModelHolder per task, swapped atomically when the store's
``current`` moves (polled, so another process's promotion is served without a restart)."""

from __future__ import annotations

import logging
import threading
import time
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


FAILED_LOAD_S = 60.0
"""A task whose model failed to load is not tried again for this long (unless its ``current``
moves): a broken model must not cost a load attempt per message."""


class TaskModels:
    """A holder per task, created and loaded on first use; tasks whose tokenizer files are
    identical share one tokenizer object. Other tasks than the default are unloaded when idle
    ``idle_s`` seconds (0: never) and kept to the ``max_loaded`` most recently used."""

    def __init__(
        self,
        tasks: Tasks,
        default_holder: ModelHolder,
        *,
        device: str | None = None,
        tokenizers: SharedTokenizers | None = None,
        max_loaded: int = 8,
        idle_s: float = 3600.0,
        loader: Callable[[str, ModelStore], Classifier] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tasks = tasks
        self.device = device
        self.tokenizers = tokenizers or SharedTokenizers()
        self.max_loaded, self.idle_s, self.clock = max_loaded, idle_s, clock
        self._loader = loader
        self._holders: dict[str, ModelHolder] = {tasks.default_name: default_holder}
        self._used: dict[str, float] = {}  # non-default task -> when last asked for
        self._failed: dict[str, tuple[float, str | None, str]] = {}  # when, current, why
        self._lock = threading.Lock()
        self._loading = {name: threading.Lock() for name in tasks.names}
        self._watching = False
        self._unloader = _IdleUnloader(self)

    def holder(self, name: str) -> ModelHolder:
        """Task ``name``'s loaded holder, loading it on first use; KeyError for an unknown
        task, ModelNotFoundError when it has no model yet or its load failed lately (tried
        again after :data:`FAILED_LOAD_S` s, or at once when its ``current`` moves)."""
        with self._loading[name]:  # one load per task; other tasks are not held up
            with self._lock:
                held = self._holders.get(name)
                if held is not None and name != self.tasks.default_name:
                    self._used[name] = self.clock()
            if held is not None:
                return held
            store = self.store(name)
            self._refuse_if_failed_lately(name, store)
            loads = self.tokenizers.loads
            holder = ModelHolder(
                store, device=self.device, loader=self._loader, tokenizers=self.tokenizers
            )
            try:
                holder.load()
            except Exception as exc:
                why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                self._failed[name] = (self.clock(), store.current(), why)
                raise
            self._failed.pop(name, None)
            shared = "its own" if self.tokenizers.loads > loads else "a shared"
            log.info("task %s: serving model %s (%s tokenizer)", name, holder.version, shared)
            with self._lock:
                self._holders[name] = holder
                self._used[name] = self.clock()
                if self._watching:
                    holder.start()
                excess = max(0, len(self._used) - self.max_loaded)
                least_used = sorted(self._used, key=self._used.__getitem__)[:excess]
            for other in least_used:
                self._unload(other, "least recently used")
            return holder

    def _refuse_if_failed_lately(self, name: str, store: ModelStore) -> None:
        failed = self._failed.get(name)
        if failed is None:
            return
        when, current, why = failed
        ago = self.clock() - when
        if ago < FAILED_LOAD_S and current == store.current():
            raise ModelNotFoundError(
                f"task {name}'s model failed to load {ago:.0f}s ago ({why}); "
                f"tried again within {FAILED_LOAD_S:.0f}s or once another version is promoted"
            )

    def unload_idle(self) -> list[str]:
        """Unload the other tasks unused for ``idle_s`` seconds; their names."""
        if self.idle_s <= 0:
            return []
        now = self.clock()
        with self._lock:
            idle = [name for name, used in self._used.items() if now - used >= self.idle_s]
        return [name for name in idle if self._unload(name, "idle")]

    def _unload(self, name: str, why: str) -> bool:
        """Drop task ``name``'s holder (a request holding its classifier finishes with it)."""
        with self._lock:
            holder = self._holders.pop(name, None)
            self._used.pop(name, None)
        if holder is None:
            return False
        holder.stop()
        log.info("task %s: model %s unloaded (%s)", name, holder.version, why)
        return True

    def store(self, name: str) -> ModelStore:
        """Task ``name``'s model store, loaded or not (KeyError for an unknown task)."""
        held = self._holders.get(name)
        return held.store if held is not None else ModelStore(self.tasks.by_name[name].model_dir)

    def loaded(self) -> dict[str, ModelHolder]:
        """The holders loaded so far, by task name."""
        with self._lock:
            return dict(self._holders)

    def start_watching(self) -> None:
        """Watch every loaded task's ``current`` (and each one loaded later); unload idle ones."""
        for holder in self._set_watching(True):
            holder.start()
        if self.idle_s > 0 and len(self.tasks) > 1:
            self._unloader.start()

    def stop(self) -> None:
        """Stop every watcher."""
        self._unloader.stop()
        for holder in self._set_watching(False):
            holder.stop()

    def _set_watching(self, on: bool) -> list[ModelHolder]:
        with self._lock:
            self._watching = on
            return list(self._holders.values())


class _IdleUnloader(Ticker):
    """Unloads idle tasks a few times per ``idle_s`` (a daemon thread)."""

    thread_name = "model-unloader"

    def __init__(self, models: TaskModels) -> None:
        super().__init__()
        self.models = models

    def tick(self) -> list[str]:
        return self.models.unload_idle()

    def wait_s(self) -> float:
        return min(60.0, max(1.0, self.models.idle_s / 4))
