"""Value objects returned by the classifier: predictions and explanations."""

from __future__ import annotations

from dataclasses import dataclass, field

EXPLAIN_METHODS = (
    "attention",
    "rollout",
    "gradient",
    "gradient-upper",
    "attn-grad",
    "attn-grad-mix",
)
ONE_PASS_METHODS = ("attn-grad", "attn-grad-mix")
"""Explained from one forward + backward pass, many texts batched together."""
ATTENTION_METHODS = ("attention", "rollout", *ONE_PASS_METHODS)
SIGNED_METHODS = ("gradient", "gradient-upper", *ONE_PASS_METHODS)
"""Give signed word attributions: evidence for and against the predicted label."""
DEFAULT_EXPLAIN_METHOD = "attn-grad-mix"
"""The method every surface uses unless told otherwise (the CLI, the bot, the demo). No method
within the 60 ms budget matches integrated gradients' sufficiency; ``attn-grad-mix`` comes
closest on the selection rows, at ``attn-grad``'s cost and more faithful than it on every figure
(benchmarks/README.md, "Explanation faithfulness")."""


class ExplanationUnavailable(ValueError):
    """This model cannot give this explanation: its architecture returns no attention
    weights, so only ``gradient`` works. The message names the method and the architecture."""

    def __init__(self, method: str, architecture: str) -> None:
        self.method, self.architecture = method, architecture
        super().__init__(
            f"the {method} explanation needs attention weights, and this model's architecture "
            f"({architecture}) returns none; use gradient instead"
        )


@dataclass(frozen=True)
class Prediction:
    """One classified text: the top label, its probability and every class's probability."""

    label: str
    confidence: float
    scores: dict[str, float]
    model: str
    truncated: bool = False


@dataclass(frozen=True)
class Explanation:
    """Word attributions for one text.

    ``words`` are the whitespace-separated words the person typed (wordpieces merged back,
    [CLS]/[SEP]/padding dropped) and ``weights`` align with them and sum to 1.
    ``signed_weights`` (only for :data:`SIGNED_METHODS`, else empty) align with ``words`` too:
    positive = evidence for the predicted label, negative = against it, scaled so their
    absolute values sum to 1; ``weights`` is their positive part, renormalised.
    ``layer_weights[i][j]`` is the mean-head [CLS] attention of layer ``i`` on word ``j``
    (each row sums to 1), for the words-by-layers figure.
    ``versus`` names the label a contrastive explanation weighed the prediction against
    ("why ``prediction.label``, not ``versus``"): positive signed weights push toward the
    prediction, negative ones toward ``versus``; None for a plain explanation.
    """

    method: str
    words: list[str]
    weights: list[float]
    prediction: Prediction
    layer_weights: list[list[float]] = field(default_factory=list)
    truncated: bool = False
    signed_weights: list[float] = field(default_factory=list)
    versus: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready form: the ``explanation`` object of the CLI contract."""
        return {
            "method": self.method,
            "words": list(self.words),
            "weights": list(self.weights),
            "signed_weights": list(self.signed_weights),
            "truncated": self.truncated,
            "versus": self.versus,
        }
