"""A daemon thread that calls ``tick()`` now and then again after each wait, until stopped:
the shape of Heed's periodic work (the retrain reaper, the labelling-queue digest)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Ticker:
    """Subclasses define :meth:`tick` (one round) and :meth:`wait_s` (seconds to the next);
    an exception in a round is logged with :attr:`thread_name` and the thread goes on."""

    thread_name = "heed-ticker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> object:
        raise NotImplementedError

    def wait_s(self) -> float:
        raise NotImplementedError

    def start(self) -> None:
        """Tick now and then after every :meth:`wait_s` until :meth:`stop` (once only)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits for a round in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("%s round failed", self.thread_name)
            if self._stop.wait(self.wait_s()):
                return
