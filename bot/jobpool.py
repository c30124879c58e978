"""A thread pool with a bounded queue that refuses at once when full (:class:`Busy`): a flood costs
a polite "busy" reply rather than memory and minutes of latency for everyone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Busy(RuntimeError):
    """The work was refused: too much is already queued. Nothing was started."""


class JobPool:
    """``workers`` threads; at most ``capacity`` jobs queued or running at a time."""

    def __init__(self, workers: int, capacity: int, name: str = "heed-job") -> None:
        self.capacity = capacity
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._idle = threading.Condition()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Jobs queued or running now."""
        return self._pending

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on the pool; raises :class:`Busy` when ``capacity`` jobs wait."""
        with self._idle:
            if self._pending >= self.capacity:
                raise Busy(f"{self.capacity} jobs are already queued or running")
            self._pending += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running (at most ``timeout`` s); True if so."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop taking jobs; with ``wait``, let the queued ones finish first."""
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)
