"""ExplainBatcher: concurrent explanation requests share one forward + backward pass.

The one-pass methods (:data:`classifier.types.ONE_PASS_METHODS`) explain a batch of texts at
once, so requests that arrive while a batch runs form the next one (``max_wait`` 0: a lone
request never waits for company). Other methods run in the caller's thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.serving.batching import MicroBatcher
from classifier.types import ONE_PASS_METHODS

if TYPE_CHECKING:
    from classifier.model import Classifier
    from classifier.types import Explanation

Request = tuple["Classifier", str, str]
"""``(classifier, text, method)``: the classifier the request started with, so a model swap
mid-burst never mixes versions within one answer."""


class ExplainBatcher(MicroBatcher[Request, "Explanation | Exception"]):
    """Explain texts for many callers at once; each caller gets its own text's explanation."""

    def __init__(self) -> None:
        super().__init__(_explain_batch, max_batch=16, max_wait=0.0, name="explain")

    def explain(self, classifier: Classifier, text: str, method: str) -> Explanation:
        """``classifier.explain(text, method)``, batched with concurrent callers' requests for
        a one-pass method; raises what ``explain`` would raise."""
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
