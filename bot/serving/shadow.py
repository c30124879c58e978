"""Shadow versions on this replica: the database says which version shadows each task; this
loads it on first use, predicts beside the serving version (no explanation; concurrent
observations in one batch, off the serving path) and records what it said. A shadow never acts,
and its failures never reach the person the serving version answers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.database import Database
from bot.jobpool import Busy
from bot.serving.batching import MicroBatcher
from classifier.store import ModelStore

if TYPE_CHECKING:
    from classifier.model import Classifier

log = logging.getLogger(__name__)

LOOKUP_S = 5.0
"""How long a replica trusts its read of which version shadows a task: a shadow started or
stopped on another replica is seen within this."""

BATCH_WAIT_S = 0.25
"""How long a shadow batch collects observations: nobody waits for them, and bigger batches
cost the serving path less CPU (benchmarks/README.md, "What a shadow version costs")."""
MAX_PENDING = 256
"""Observations waiting for the shadow at most; past it they are skipped (a shadow samples)."""

Loader = Callable[[str, ModelStore], "Classifier"]


def load_shadow(version: str, store: ModelStore) -> Classifier:
    """Load ``version`` for predictions only (no explanation twin, no warm-up heatmap)."""
    from classifier.model import Classifier

    classifier = Classifier.load(version, store=store)
    classifier.predict(["warm up"])
    return classifier


class ShadowModels:
    """One loaded shadow per task at most (the one the database names)."""

    def __init__(
        self,
        db: Database,
        stores: Callable[[str], ModelStore],
        *,
        loader: Loader = load_shadow,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db, self._stores, self._loader, self._clock = db, stores, loader, clock
        self._lookups: dict[str, tuple[float, str | None]] = {}
        self._loaded: dict[str, Classifier] = {}
        self._lock = threading.Lock()
        self._batcher: MicroBatcher[tuple[str, int, str], str | None] = MicroBatcher(
            self._observe_batch,
            name="shadow",
            max_batch=64,
            max_wait=BATCH_WAIT_S,
            max_pending=MAX_PENDING,
        )

    def version(self, task: str) -> str | None:
        """The version shadowing ``task`` (read from the database at most every few seconds)."""
        seen = self._lookups.get(task)
        if seen is not None and self._clock() - seen[0] < LOOKUP_S:
            return seen[1]
        shadow = self._db.shadows.current(task)
        version = shadow.version if shadow is not None else None
        self._lookups[task] = (self._clock(), version)
        return version

    def forget_lookup(self, task: str) -> None:
        """Read ``task``'s shadow from the database next time (this replica just changed it)."""
        self._lookups.pop(task, None)

    def classifier(self, task: str) -> Classifier | None:
        """``task``'s shadow, loaded (and the previous one dropped) on first use; None when
        no version shadows it."""
        version = self.version(task)
        if version is None:
            self._loaded.pop(task, None)
            return None
        with self._lock:
            loaded = self._loaded.get(task)
            if loaded is None or loaded.version != version:
                loaded = self._loader(version, self._stores(task))
                self._loaded[task] = loaded
                log.info("task %s: shadow version %s loaded", task, version)
            return loaded

    def observe(self, task: str, prediction_id: int | None, text: str) -> None:
        """Have ``task``'s shadow (if any) predict ``text`` and record it against
        ``prediction_id``, batched with the other observations of the next few milliseconds
        (the serving path waits for nothing). Dropped, and logged, when the batcher is full."""
        if prediction_id is None or self.version(task) is None:
            return
        try:
            self._batcher.submit((task, prediction_id, text))
        except (Busy, RuntimeError) as exc:
            log.warning("shadow of %s skipped prediction %d: %s", task, prediction_id, exc)

    def close(self) -> None:
        """Record what is queued, then stop the batcher's thread."""
        self._batcher.close()

    def _observe_batch(self, items: list[tuple[str, int, str]]) -> list[str | None]:
        """Predict each task's texts in one batch with its shadow and record them; a failure is
        logged (a shadow never reaches the person the serving version answers)."""
        by_task: dict[str, list[int]] = {}
        for i, (task, _pid, _text) in enumerate(items):
            by_task.setdefault(task, []).append(i)
        out: list[str | None] = [None] * len(items)
        for task, indexes in by_task.items():
            try:
                classifier = self.classifier(task)
                if classifier is None:
                    continue
                predicted = classifier.predict([items[i][2] for i in indexes])
                for i, p in zip(indexes, predicted, strict=True):
                    self._db.shadows.record(items[i][1], classifier.version, p.label, p.confidence)
                    out[i] = p.label
            except Exception as exc:
                log.warning("shadow of %s failed: %s: %s", task, type(exc).__name__, exc)
        return out
