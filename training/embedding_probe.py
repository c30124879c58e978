"""A second opinion for suspected label errors: out-of-fold probabilities of a logistic
regression on the base encoder's frozen, mean-pooled and L2-normalised embeddings.

all-MiniLM-L6-v2 was trained as a sentence embedder, so a linear probe on its embeddings is a
strong, cheap classifier that cannot memorise a flipped label the way a fine-tune can: on
banking77 with 10 % of labels flipped it ranked 88 % of them in its top N against 81 % for the
fine-tuned folds, in a tenth of the CPU time (benchmarks/README.md, "Suspected label errors").
:func:`training.suspects.find_suspects` averages it with the fine-tuned folds' probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from classifier.encoding import encode
from classifier.exports import Example
from training.few_shot import embeddings, fit_head
from training.finetune import load_base

PROBE_C = 10.0
"""The probe's inverse L2 strength (sklearn's ``C``) on unit-length embeddings: 10 found more
flipped rows than 1 or 100 on SST-2 and banking77 cuts (benchmarks/README.md)."""


def frozen_embeddings(
    rows: Sequence[Example], *, base: str, max_length: int, device: torch.device
) -> torch.Tensor:
    """The unit-length mean-pooled embeddings of ``rows``' texts from ``base``'s encoder."""
    model, tokenizer = load_base(base, ["_"], pooling="cls")  # the head is never used
    model.to(device)
    encoded = encode(tokenizer, [row.text for row in rows], max_length)
    pad_id = tokenizer.pad_token_id or 0
    return torch.nn.functional.normalize(embeddings(model, encoded, pad_id, device), dim=-1)


def probe_probabilities(
    features: torch.Tensor,
    given: torch.Tensor,
    fold_of: Sequence[int],
    classes: int,
    c: float = PROBE_C,
) -> torch.Tensor:
    """Every row's class probabilities (rows x ``classes``) from the logistic regression
    fitted on the other folds' ``features`` and ``given`` class indices."""
    folds = torch.tensor(list(fold_of))
    probs = torch.zeros(len(given), classes)
    for fold in folds.unique().tolist():
        held = folds == fold
        weight, bias = fit_head(features[~held], given[~held], classes, c)
        probs[held] = torch.softmax(features[held] @ weight.T + bias, dim=-1)
    return probs
