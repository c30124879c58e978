"""MicroBatcher: gather items submitted from many threads into one call per short window."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from bot.jobpool import Busy

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_STOP = object()


class MicroBatcher(Generic[T, R]):
    """Calls ``fn(items)`` once per batch and resolves each item's :class:`Future`.

    A batch starts with the first waiting item and closes after ``max_wait`` seconds or at
    ``max_batch`` items, whichever comes first; items arriving while ``fn`` runs form the next
    batch. ``fn`` must return one result per item, in order; if it raises, every future of
    that batch gets the exception.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait: float = 0.05,
        name: str = "micro-batcher",
        max_pending: int = 0,
    ) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be >= 1 and max_wait >= 0")
        self.fn, self.max_batch, self.max_wait = fn, max_batch, max_wait
        self.max_pending = max_pending
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; the returned future resolves when its batch has been processed.

        Raises :class:`~bot.jobpool.Busy` when ``max_pending`` items (0: no limit) wait.
        """
        if self._closed:
            raise RuntimeError("the batcher is closed")
        if self.max_pending and self._queue.qsize() >= self.max_pending:
            raise Busy(f"{self.max_pending} items are already waiting to be classified")
        future: Future[R] = Future()
        self._queue.put((item, future))
        return future

    def close(self, timeout: float | None = 5.0) -> None:
        """Process what is queued, then stop the worker thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    def _collect(self) -> tuple[list[tuple[T, Future[R]]], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True  # type: ignore[return-value]
            batch.append(item)
        return batch, False  # type: ignore[return-value]

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._collect()
            if batch:
                self._process(batch)

    def _process(self, batch: list[tuple[T, Future[R]]]) -> None:
        items = [item for item, _ in batch]
        futures = [f for _, f in batch if f.set_running_or_notify_cancel()]
        started = time.monotonic()
        try:
            results = list(self.fn(items))
            if len(results) != len(items):
                raise RuntimeError(
                    f"batch function returned {len(results)} results for {len(items)}"
                )
        except Exception as exc:  # handed to every waiting caller
            log.exception("batch of %d failed", len(items))
            for future in futures:
                future.set_exception(exc)
            return
        log.debug("batch of %d in %.1f ms", len(items), (time.monotonic() - started) * 1000)
        by_future = {id(f): r for (_, f), r in zip(batch, results, strict=True)}
        for future in futures:
            future.set_result(by_future[id(future)])
