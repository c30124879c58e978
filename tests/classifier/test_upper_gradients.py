"""Integrated gradients through the upper layers (``gradient-upper``), on the tiny random BERT."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.types import SIGNED_METHODS
from classifier.upper_gradients import encoder_layers, gauss_legendre, upper_integrated_gradients

TEXT = "great love it"  # one token per word


@pytest.fixture(scope="module")
def clf(tiny_model: Path) -> Classifier:
    return Classifier.load(str(tiny_model), device="cpu")


def test_gradient_upper_scores_add_up_to_the_logit_change_from_the_baseline(
    clf: Classifier,
) -> None:
    model = clf._eager_twin()
    ids = torch.tensor([clf.tokenizer(TEXT)["input_ids"]])
    baseline = torch.full_like(ids, clf.tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    with torch.no_grad():
        logits = model(input_ids=torch.cat([ids, baseline])).logits
    for versus in (None, 2):
        want = logits[0, 1] - logits[1, 1]
        if versus is not None:
            want = want - (logits[0, versus] - logits[1, versus])
        scores = upper_integrated_gradients(model, ids, baseline, 1, 32, versus)
        assert scores.shape == (ids.shape[1],)
        assert float(scores.sum()) == pytest.approx(float(want), abs=1e-3)
    with torch.no_grad():  # the hook is gone: the model answers as before
        assert torch.equal(model(input_ids=torch.cat([ids, baseline])).logits, logits)


def test_gradient_upper_is_a_signed_method_of_the_classifier(clf: Classifier) -> None:
    explanation = clf.explain(TEXT, "gradient-upper")
    assert explanation.method == "gradient-upper" and "gradient-upper" in SIGNED_METHODS
    assert len(explanation.signed_weights) == 3
    assert sum(abs(w) for w in explanation.signed_weights) == pytest.approx(1.0)
    assert clf.explain(TEXT, "gradient-upper", versus="positive").versus == "positive"


def test_encoder_layers_finds_the_stack_of_the_tiny_bert(clf: Classifier) -> None:
    assert encoder_layers(clf.model) is clf.model.bert.encoder.layer
    assert gauss_legendre(4)[1].sum() == pytest.approx(1.0)


def test_another_threads_forward_during_the_path_is_left_alone(clf: Classifier) -> None:
    model = clf._eager_twin()
    ids = torch.tensor([clf.tokenizer(TEXT)["input_ids"]])
    baseline = torch.full_like(ids, clf.tokenizer.pad_token_id)
    with torch.no_grad():
        want = model(input_ids=ids).logits
    seen: list[torch.Tensor] = []

    def forward_elsewhere(_module, _inputs, _output) -> None:
        if not seen:  # inside the path's forward: another thread runs the model meanwhile
            seen.append(torch.zeros(0))
            worker = threading.Thread(target=lambda: seen.append(model(input_ids=ids).logits))
            worker.start()
            worker.join()

    handle = encoder_layers(model)[-1].register_forward_hook(forward_elsewhere)
    try:
        upper_integrated_gradients(model, ids, baseline, 1, 2)
    finally:
        handle.remove()
    assert torch.allclose(seen[1].detach(), want, atol=1e-6)
