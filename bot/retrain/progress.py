"""Training progress events in words, and a throttle for how often they are shown."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any


def describe_progress(event: dict[str, Any] | None, start: dict[str, Any] | None = None) -> str:
    """``epoch 1/4 · step 12/40 (30%) · loss 0.693`` and the like, for a status message."""
    if not event:
        return "starting (loading the model and checking the data)"
    epochs = (start or {}).get("epochs")
    of_epochs = f"/{epochs}" if epochs else ""
    kind = event.get("event")
    if kind == "start":
        return (
            f"training on {event.get('train_rows')} rows, evaluating on {event.get('eval_rows')}: "
            f"{event.get('epochs')} epochs, {event.get('total_steps')} steps"
        )
    if kind == "step":
        total = event.get("total_steps") or 0
        step = event.get("step") or 0
        share = f" ({100 * step / total:.0f}%)" if total else ""
        return (
            f"epoch {event.get('epoch')}{of_epochs} · step {step}/{total}{share} · "
            f"loss {event.get('loss', float('nan')):.3f}"
        )
    if kind == "epoch":
        best = " (best so far)" if event.get("best") else ""
        return (
            f"epoch {event.get('epoch')}{of_epochs} evaluated: accuracy "
            f"{event.get('accuracy', 0):.3f}, macro-F1 {event.get('macro_f1', 0):.3f}{best}"
        )
    return str(kind)


@dataclass
class Throttle:
    """Let something happen at most once every ``interval_s`` seconds, or always when forced
    (milestones such as an epoch's metrics). Thread-safe."""

    interval_s: float = 3.0
    _: KW_ONLY
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def ready(self, *, force: bool = False) -> bool:
        """True when the caller may act now (and the interval restarts)."""
        with self._lock:
            now = self.clock()
            if force or self._last is None or now - self._last >= self.interval_s:
                self._last = now
                return True
            return False
