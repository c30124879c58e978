"""ModelHolder: the serving classifier, swapped atomically when the store's ``current`` moves
(polled, so another process's promotion is served without a restart; warmed up before)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.ticker import Ticker
from classifier.store import ModelNotFoundError, ModelStore

if TYPE_CHECKING:
    from classifier.model import Classifier
    from classifier.tokenizers import SharedTokenizers

log = logging.getLogger(__name__)

HOW_TO_TRAIN = (
    "no model is serving in {root}: train one first with `make demo` (the bundled default) or "
    "`python -m training train --data FILE --promote`, or start with `python -m bot "
    "--train-default`"
)


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
