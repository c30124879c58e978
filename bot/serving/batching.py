"""Gather items submitted from many threads into one call per short window; with it,
concurrent explanations by a one-pass method share one forward + backward pass."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.jobpool import Busy
from classifier.types import ONE_PASS_METHODS

if TYPE_CHECKING:
    from classifier.model import Classifier
    from classifier.types import Explanation

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_STOP = object()


class MicroBatcher(Generic[T, R]):
    """Calls ``fn(items)`` once per batch (closed ``max_wait`` s after its first item or at
    ``max_batch`` items) and resolves each item's :class:`Future` with its result or error."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait: float = 0.05,
        name: str = "micro-batcher",
        max_pending: int = 0,
    ) -> None:
        self.fn, self.max_batch, self.max_wait = fn, max_batch, max_wait
        self.max_pending = max_pending
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; :class:`~bot.jobpool.Busy` when ``max_pending`` (0: no limit) wait."""
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

    def _run(self) -> None:
        while (first := self._queue.get()) is not _STOP:
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)  # ends the loop once this batch is done
                    break
                batch.append(item)
            self._process(batch)  # type: ignore[arg-type]

    def _process(self, batch: list[tuple[T, Future[R]]]) -> None:
        items = [item for item, _ in batch]
        started = time.monotonic()
        try:
            results = list(self.fn(items))
            if len(results) != len(items):
                raise RuntimeError(
                    f"batch function returned {len(results)} results for {len(items)}"
                )
            settle = Future.set_result
        except Exception as exc:  # handed to every waiting caller
            log.exception("batch of %d failed", len(items))
            results, settle = [exc] * len(items), Future.set_exception
        log.debug("batch of %d in %.1f ms", len(items), (time.monotonic() - started) * 1000)
        for (_, future), result in zip(batch, results, strict=True):
            if future.set_running_or_notify_cancel():
                settle(future, result)


Request = tuple["Classifier", str, str]
"""``(classifier, text, method)``: the classifier the request started with, so a model swap
mid-burst never mixes versions within one answer."""


class ExplainBatcher(MicroBatcher[Request, "Explanation | Exception"]):
    """Explanations batched across callers (``max_wait`` 0: a lone request never waits)."""

    def __init__(self) -> None:
        super().__init__(_explain_batch, max_batch=16, max_wait=0.0, name="explain")

    def explain(self, classifier: Classifier, text: str, method: str) -> Explanation:
        """``classifier.explain(text, method)``, batched with others for a one-pass method."""
        if method not in ONE_PASS_METHODS:
            return classifier.explain(text, method)
        outcome = self.submit((classifier, text, method)).result()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _explain_batch(requests: list[Request]) -> list[Explanation | Exception]:
    """One ``explain_many`` per (classifier, method) group; a group that fails (e.g. an
    architecture without attention weights) fails only its own requests."""
    groups: dict[tuple[int, str], list[int]] = {}
    for i, (classifier, _, method) in enumerate(requests):
        groups.setdefault((id(classifier), method), []).append(i)
    results: dict[int, Explanation | Exception] = {}
    for indices in groups.values():
        classifier, _, method = requests[indices[0]]
        outcomes: Sequence[Explanation | Exception]
        try:
            outcomes = classifier.explain_many([requests[i][1] for i in indices], method)
        except Exception as exc:  # handed to each caller of this group
            outcomes = [exc] * len(indices)
        results.update(zip(indices, outcomes, strict=True))
    return [results[i] for i in range(len(requests))]
