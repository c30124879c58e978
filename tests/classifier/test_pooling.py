"""Mean pooling: a version trained with it is loaded with it (``heed.json``), its logits ignore
padding, and architectures whose head it cannot feed are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from classifier import Classifier
from classifier.pooling import MeanPooling, model_class, pooling_of, resolve_pooling
from tests.tiny_encoders import make_distilbert


@pytest.fixture
def mean_model(tiny_model: Path, tmp_path: Path) -> Path:
    path = tmp_path / "mean"
    shutil.copytree(tiny_model, path)
    (path / "heed.json").write_text(json.dumps({"pooling": "mean"}))
    return path


def test_the_version_says_how_it_pools(tiny_model: Path, mean_model: Path) -> None:
    assert pooling_of(tiny_model) == "cls" and pooling_of(mean_model) == "mean"
    cls_model = Classifier.load(str(tiny_model), device="cpu").model
    mean = Classifier.load(str(mean_model), device="cpu").model
    assert not isinstance(cls_model, MeanPooling) and isinstance(mean, MeanPooling)
    ids = torch.tensor([[101, 2307, 2293, 102]])
    with torch.no_grad():
        assert not torch.allclose(cls_model(input_ids=ids).logits, mean(input_ids=ids).logits)


def test_mean_pooled_logits_ignore_padding(mean_model: Path) -> None:
    classifier = Classifier.load(str(mean_model), device="cpu")
    alone = classifier.predict(["great"])[0].scores
    batched = classifier.predict(["great", "a much longer text that pads the first one " * 3])
    for label, p in alone.items():
        assert batched[0].scores[label] == pytest.approx(p, abs=1e-5)


def test_mean_pooled_models_explain_with_attention(mean_model: Path) -> None:
    classifier = Classifier.load(str(mean_model), device="cpu")
    explanation = classifier.explain("great love", "attn-grad")
    assert explanation.words == ["great", "love"]


def test_heads_mean_pooling_cannot_feed_are_refused(tmp_path: Path) -> None:
    distilbert = make_distilbert(tmp_path / "distilbert")
    assert model_class(str(distilbert)).__name__ == "DistilBertForSequenceClassification"
    with pytest.raises(ValueError, match="not available"):
        model_class(str(distilbert), "mean")
    with pytest.raises(ValueError, match="unknown pooling"):
        model_class(str(distilbert), "max")


def test_auto_is_mean_where_the_head_takes_it_and_cls_elsewhere(tiny_model, tmp_path) -> None:
    distilbert = str(make_distilbert(tmp_path / "distilbert"))
    assert resolve_pooling(str(tiny_model), "auto") == "mean"
    assert resolve_pooling(distilbert, "auto") == "cls"
    assert resolve_pooling(str(tiny_model), "cls") == "cls"
    assert issubclass(model_class(str(tiny_model), "auto"), MeanPooling)
    assert not issubclass(model_class(distilbert, "auto"), MeanPooling)
    with pytest.raises(ValueError, match="unknown pooling"):
        resolve_pooling(distilbert, "max")
