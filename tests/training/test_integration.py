"""Fine-tune the real embedded base model on a few hundred rows (the slow tests)."""

from __future__ import annotations

import json

import pytest

from classifier import Classifier, ModelStore
from classifier.device import pick_device
from tests.conftest import DATA
from training.__main__ import main as training_main
from training.config import TrainConfig
from training.finetune import load_base
from training.pipeline import run_train

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def banking_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelStore, dict]:
    """The default recipe, 3 epochs, on 300 banking77 rows of 5 intents (held-out split)."""
    root = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEED_MODEL_DIR", str(root))
        result = run_train(
            [DATA / "banking_small.csv"],
            store=ModelStore(root),
            config=TrainConfig(epochs=3),
            device=pick_device("cpu"),
            promote=True,
        )
    return ModelStore(root), result


def test_held_out_accuracy_is_well_above_chance(banking_model, capsys, monkeypatch) -> None:
    store, result = banking_model
    assert result["promoted"] and store.current() == result["version"]
    assert result["metrics"]["accuracy"] >= 0.85
    monkeypatch.setenv("HEED_MODEL_DIR", str(store.root))
    args = ["evaluate", "--data", str(DATA / "banking_small_eval.csv"), "--json"]
    assert training_main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 150
    assert report["accuracy"] >= 0.85, report  # chance is 0.2


def test_explanations_point_at_the_intent_words(banking_model) -> None:
    store, _ = banking_model
    clf = Classifier.load("current", store=store, device="cpu")
    explanation = clf.explain("What is the exchange rate for euros today?", "gradient")
    assert explanation.prediction.label == "exchange_rate"
    top = sorted(zip(explanation.weights, explanation.words, strict=True), reverse=True)[:3]
    assert {"exchange", "rate"} & {word for _, word in top}


def test_continuing_from_a_version_keeps_its_head(banking_model) -> None:
    store, result = banking_model
    model, _ = load_base(str(store.path(result["version"])), result["labels"])
    clf = Classifier.load(result["version"], store=store, device="cpu")
    assert model.classifier.weight.equal(clf.model.classifier.weight)


def test_the_default_models_card_names_its_hub_base(banking_model) -> None:
    store, result = banking_model
    card = (store.path(result["version"]) / "README.md").read_text(encoding="utf-8")
    assert '\nbase_model: "sentence-transformers/all-MiniLM-L6-v2"\n' in card.split("---")[1]
    assert "all-MiniLM-L6-v2 (embedded)" in card and "banking_small.csv" in card
