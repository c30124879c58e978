"""ExplainBatcher: concurrent explanation requests share one forward + backward pass.

The one-pass methods (:data:`classifier.types.ONE_PASS_METHODS`) explain a whole batch of
texts at once, without a lock, so requests that arrive while a batch runs are gathered
into the next one (``max_wait`` 0: a lone request never waits for company). The other
methods (attention, rollout, integrated gradients) run in the caller's thread as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.serving.batching import MicroBatcher
from classifier.types import ONE_PASS_METHODS

if TYPE_CHECKING:
    from classifier.model import Classifier
    from classifier.types import Explanation

log = logging.getLogger(__name__)

MAX_BATCH = 16

Request = tuple["Classifier", str, str]
"""``(classifier, text, method)``: the classifier is the one the request started with, so a
model swap mid-burst never mixes versions within one answer."""


class ExplainBatcher:
    """Explain texts for many callers at once; each caller gets its own text's explanation."""

    def __init__(self, *, max_batch: int = MAX_BATCH, max_wait: float = 0.0) -> None:
        self._batcher: MicroBatcher[Request, Explanation | Exception] = MicroBatcher(
            self._explain_batch, max_batch=max_batch, max_wait=max_wait, name="explain"
        )

    def explain(self, classifier: Classifier, text: str, method: str) -> Explanation:
        """``classifier.explain(text, method)``, batched with concurrent callers' requests
        when ``method`` is a one-pass method; raises what ``explain`` would raise."""
        if method not in ONE_PASS_METHODS:
            return classifier.explain(text, method)
        outcome = self._batcher.submit((classifier, text, method)).result()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def close(self) -> None:
        """Finish what is queued and stop the worker thread."""
        self._batcher.close()

    @staticmethod
    def _explain_batch(requests: list[Request]) -> list[Explanation | Exception]:
        """One ``explain_many`` per (classifier, method) group; a group that fails (e.g. an
        architecture without attention weights) fails only its own requests."""
        groups: dict[tuple[int, str], list[int]] = {}
        for i, (classifier, _, method) in enumerate(requests):
            groups.setdefault((id(classifier), method), []).append(i)
        results: list[Explanation | Exception | None] = [None] * len(requests)
        for indices in groups.values():
            classifier, _, method = requests[indices[0]]
            texts = [requests[i][1] for i in indices]
            outcomes: Sequence[Explanation | Exception]
            try:
                outcomes = classifier.explain_many(texts, method)
            except Exception as exc:  # handed to each caller of this group
                outcomes = [exc] * len(indices)
            for i, outcome in zip(indices, outcomes, strict=True):
                results[i] = outcome
        if len(requests) > 1:
            log.debug("explained a batch of %d", len(requests))
        return [r for r in results if r is not None]
