"""The frozen-embedding probe: unit-length embeddings from the base encoder, and out-of-fold
probabilities that never come from a fit that saw the row."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier.exports import Example
from training.embedding_probe import frozen_embeddings, probe_probabilities


def test_embeddings_are_one_unit_vector_per_row(tiny_base: Path) -> None:
    rows = [
        Example(text, "a", f"f.csv:{i + 2}") for i, text in enumerate(["hi there", "x", "a b c"])
    ]
    vectors = frozen_embeddings(
        rows, base=str(tiny_base), max_length=16, device=torch.device("cpu")
    )
    assert vectors.shape == (3, 32)
    assert torch.linalg.vector_norm(vectors, dim=-1) == pytest.approx(torch.ones(3), abs=1e-5)


def test_a_row_is_scored_by_a_probe_that_never_saw_it() -> None:
    torch.manual_seed(0)
    centres = torch.eye(3)
    given = torch.tensor([0, 1, 2] * 8)
    features = centres[given] + 0.05 * torch.randn(24, 3)
    given[5] = 0  # a flipped label: the row sits among class 2's rows
    folds = [i % 4 for i in range(24)]
    probs = probe_probabilities(features, given, folds, classes=3)
    assert probs.shape == (24, 3)
    assert probs.sum(dim=1) == pytest.approx(torch.ones(24), abs=1e-5)
    assert probs[5].argmax() == 2 and probs[5, 0] < 0.2  # its own label never taught the fit
    right = [i for i in range(24) if i != 5]
    assert (probs[right].argmax(dim=1) == given[right]).all()
