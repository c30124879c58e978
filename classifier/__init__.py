"""Heed's classifier: load a model version, predict, explain, draw.

``Classifier`` (torch + transformers) is imported on first use, so the store, the types and the
heatmap renderer stay cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifier.store import ModelNotFoundError, ModelStore
from classifier.types import EXPLAIN_METHODS, Explanation, ExplanationUnavailable, Prediction

if TYPE_CHECKING:
    from classifier.model import Classifier

__all__ = [
    "EXPLAIN_METHODS",
    "Classifier",
    "Explanation",
    "ExplanationUnavailable",
    "ModelNotFoundError",
    "ModelStore",
    "Prediction",
]


def __getattr__(name: str) -> object:
    if name == "Classifier":
        from classifier.model import Classifier

        return Classifier
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")
