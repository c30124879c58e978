"""A version's label bias (``heed.json``: ``label_bias``) is added to every logit it turns into
a label or a probability, before the temperature; a version without one is served as before,
and a broken one is refused with the reason."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from classifier import Classifier, ModelNotFoundError
from classifier.label_bias import BadLabelBias, adjusted, check_label_bias, prior_bias
from classifier.temperature import calibrated

LABELS = ["negative", "neutral", "positive"]
TEXTS = ["great love it", "awful broken refund please", "the box arrived tuesday", "ok"]
# The tiny random model sends everything to "neutral" with close logits: a bias of 5 on
# another label moves every decision there.
TOWARD_POSITIVE = {"negative": 0.0, "neutral": 0.0, "positive": 5.0}


def version(tiny_model: Path, tmp_path: Path, meta: dict) -> Path:
    path = tmp_path / "version"
    shutil.copytree(tiny_model, path)
    (path / "heed.json").write_text(json.dumps(meta).replace("Infinity", "1e999"))
    return path


def test_the_prior_bias_lifts_the_rare_label_by_its_log_share() -> None:
    bias = prior_bias({"common": 90, "rare": 10}, 1.0)
    assert bias == pytest.approx({"common": -math.log(0.9), "rare": -math.log(0.1)})
    assert prior_bias({"common": 90, "rare": 10}, 2.0)["rare"] == pytest.approx(2 * bias["rare"])
    assert set(prior_bias({"a": 5, "b": 5}, 1.0).values()) == {math.log(2)}  # balanced: a no-op


@pytest.mark.parametrize("tau", [-1.0, float("nan"), float("inf"), True, "1"])
def test_a_bad_strength_is_refused(tau: object) -> None:
    with pytest.raises(BadLabelBias, match="logit adjustment must be"):
        prior_bias({"a": 1, "b": 1}, tau)  # type: ignore[arg-type]


def test_a_label_without_rows_has_no_prior() -> None:
    with pytest.raises(BadLabelBias, match="every label needs training rows"):
        prior_bias({"a": 3, "b": 0}, 1.0)


def test_the_bias_is_checked_against_the_labels_and_kept_in_their_order() -> None:
    assert check_label_bias(None, LABELS) is None
    bias = check_label_bias({"positive": 3, "negative": 1.5, "neutral": 0}, LABELS)
    assert bias.tolist() == [1.5, 0.0, 3.0]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([1, 2, 3], "mapping of label to number"),
        ({"negative": 1.0, "positive": 1.0}, "exactly the model's labels"),
        ({**TOWARD_POSITIVE, "spam": 1.0}, "exactly the model's labels"),
        ({**TOWARD_POSITIVE, "neutral": "1"}, "'neutral' must be a finite number"),
        ({**TOWARD_POSITIVE, "neutral": True}, "'neutral' must be a finite number"),
        ({**TOWARD_POSITIVE, "neutral": float("inf")}, "'neutral' must be a finite number"),
    ],
)
def test_a_broken_bias_is_refused_with_the_reason(value: object, says: str) -> None:
    with pytest.raises(BadLabelBias, match=says):
        check_label_bias(value, LABELS)


def test_adjusted_adds_the_bias_and_nothing_without_one() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    assert torch.equal(adjusted(logits, None), logits)
    assert adjusted(logits, torch.tensor([0.0, 3.0, 0.0])).tolist() == [[2.0, 3.0, -1.0]]
    bias = torch.tensor([0.0, 3.0, 0.0])
    assert torch.allclose(calibrated(logits, 2.0, bias), ((logits + bias) / 2).softmax(-1))


def test_predict_explain_and_logits_apply_the_stored_bias(tiny_model: Path, tmp_path: Path):
    plain = Classifier.load(str(tiny_model), device="cpu")
    assert plain.label_bias is None
    assert {p.label for p in plain.predict(TEXTS)} == {"neutral"}
    biased = Classifier.load(
        str(version(tiny_model, tmp_path, {"label_bias": TOWARD_POSITIVE, "temperature": 2.0})),
        device="cpu",
    )
    bias = torch.tensor([0.0, 0.0, 5.0])
    assert torch.allclose(biased.logits(TEXTS), plain.logits(TEXTS) + bias)
    expected = ((plain.logits(TEXTS) + bias) / 2.0).softmax(-1)  # the bias, then the temperature
    predictions = biased.predict(TEXTS)
    for prediction, probs in zip(predictions, expected, strict=True):
        assert prediction.label == "positive"
        assert list(prediction.scores.values()) == pytest.approx(probs.tolist(), abs=1e-6)
    for method in ("attention", "gradient", "attn-grad"):
        explained = biased.explain(TEXTS[1], method).prediction
        assert explained.label == "positive"  # the explanation explains the served label
        assert explained.confidence == pytest.approx(predictions[1].confidence, abs=1e-4)
    for explanation, prediction in zip(
        biased.explain_many(TEXTS, "attn-grad"), predictions, strict=True
    ):
        assert explanation.prediction.label == prediction.label
    why_not = biased.explain(TEXTS[1], "gradient", versus="neutral")
    assert why_not.prediction.label == "positive"


def test_a_version_with_a_broken_bias_is_refused_on_load(tiny_model: Path, tmp_path: Path):
    path = version(tiny_model, tmp_path, {"label_bias": {"negative": 1.0, "positive": 2.0}})
    with pytest.raises(ModelNotFoundError, match="label bias must name exactly"):
        Classifier.load(str(path), device="cpu")
