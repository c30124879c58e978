"""A version's temperature (``heed.json``) scales every probability it reports, never a label;
a version without one reports the plain softmax, as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from classifier import Classifier, ModelNotFoundError
from classifier.temperature import BadTemperature, calibrated, check_temperature, temperature_of

TEXTS = ["great love it", "awful broken refund please", "the box arrived tuesday", "ok"]
# The tiny random model's logits are close together; a small T makes the scaling plain to see.
SHARP = 0.05


def with_meta(tiny_model: Path, tmp_path: Path, meta: dict) -> Path:
    path = tmp_path / "version"
    shutil.copytree(tiny_model, path)
    (path / "heed.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def sharp_version(tiny_model: Path, tmp_path: Path) -> Classifier:
    path = with_meta(tiny_model, tmp_path, {"temperature": SHARP})
    return Classifier.load(str(path), device="cpu")


def test_a_version_without_a_temperature_reports_the_plain_softmax(tiny_model: Path) -> None:
    clf = Classifier.load(str(tiny_model), device="cpu")
    assert clf.temperature == 1.0 and temperature_of(tiny_model) == 1.0
    expected = clf.logits(TEXTS).softmax(-1)
    for prediction, probs in zip(clf.predict(TEXTS), expected, strict=True):
        assert list(prediction.scores.values()) == probs.tolist()


def test_predict_and_explain_apply_the_stored_temperature(tiny_model: Path, tmp_path: Path):
    plain = Classifier.load(str(tiny_model), device="cpu")
    sharp = sharp_version(tiny_model, tmp_path)
    assert sharp.temperature == SHARP
    logits = sharp.logits(TEXTS)
    assert torch.equal(logits, plain.logits(TEXTS))  # the logits themselves are untouched
    for p, s, row in zip(plain.predict(TEXTS), sharp.predict(TEXTS), logits, strict=True):
        assert s.label == p.label  # the argmax never changes
        assert s.confidence > p.confidence + 0.01
        expected = (row / SHARP).softmax(-1).tolist()
        assert list(s.scores.values()) == pytest.approx(expected, abs=1e-6)
    predicted = sharp.predict([TEXTS[1]])[0]
    for method in ("attention", "gradient", "attn-grad"):
        explained = sharp.explain(TEXTS[1], method).prediction
        assert explained.label == predicted.label
        assert explained.confidence == pytest.approx(predicted.confidence, abs=1e-4)


def test_explain_many_reports_calibrated_confidences(tiny_model: Path, tmp_path: Path) -> None:
    sharp = sharp_version(tiny_model, tmp_path)
    explained = sharp.explain_many(TEXTS, "attn-grad")
    for explanation, prediction in zip(explained, sharp.predict(TEXTS), strict=True):
        assert explanation.prediction.confidence == pytest.approx(prediction.confidence, abs=1e-4)


@pytest.mark.parametrize("bad", [0, -1.5, "2", True, float("inf")])
def test_a_version_with_a_broken_temperature_is_refused_with_the_reason(
    tiny_model: Path, tmp_path: Path, bad: object
) -> None:
    path = tmp_path / "version"
    shutil.copytree(tiny_model, path)
    (path / "heed.json").write_text(json.dumps({"temperature": bad}).replace("Infinity", "1e999"))
    with pytest.raises(ModelNotFoundError, match="temperature must be"):
        Classifier.load(str(path), device="cpu")
    with pytest.raises(BadTemperature):
        check_temperature(bad)


def test_calibrated_is_the_scaled_softmax() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    assert torch.equal(calibrated(logits, 1.0), logits.softmax(-1))
    assert torch.allclose(calibrated(logits, 2.0), (logits / 2).softmax(-1))
