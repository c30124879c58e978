"""``train --logit-adjustment TAU``: the version records the bias of its training rows' label
shares (``heed.json``, the card), is served with it, and its held-out metrics are those of
the adjusted decisions; TAU = 0 writes no bias."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from classifier import Classifier, ModelStore
from classifier.exports import Example
from classifier.label_bias import LABEL_BIAS_KEY
from tests.conftest import last_json, make_rows, write_csv
from training.__main__ import main as training_main
from training.finetune import TrainOutcome
from training.logit_adjustment import biased_probe, label_bias, rescored

TINY_ARGS = ["--epochs", "1", "--batch-size", "8", "--max-length", "32", "--recipe", "standard"]
LABELS = ["negative", "neutral", "positive"]


def trained(capsys, tiny_base: Path, export: Path, tau: str) -> dict:
    args = ["train", "--data", str(export), "--base", str(tiny_base), *TINY_ARGS]
    assert training_main([*args, "--logit-adjustment", tau, "--json"]) == 0
    return last_json(capsys.readouterr().out)


def test_the_version_records_and_serves_the_bias_of_its_training_shares(
    capsys, tiny_base: Path, store_dir: Path, tmp_path: Path
) -> None:
    rows = make_rows(25)
    rare = [r for r in rows if r[1] == "neutral"][:10]
    export = write_csv(tmp_path / "export.csv", [r for r in rows if r[1] != "neutral"] + rare)
    result = trained(capsys, tiny_base, export, "1.5")
    store = ModelStore(store_dir)
    meta = store.metadata(result["version"])
    counts = meta["label_counts"]["train"]
    shares = {label: n / sum(counts.values()) for label, n in counts.items()}
    assert meta["training_args"]["logit_adjustment"] == 1.5
    assert meta[LABEL_BIAS_KEY] == pytest.approx(
        {label: -1.5 * math.log(share) for label, share in shares.items()}
    )
    assert meta[LABEL_BIAS_KEY]["neutral"] > meta[LABEL_BIAS_KEY]["positive"]  # the rare label
    card = (Path(result["path"]) / "README.md").read_text(encoding="utf-8")
    assert "**Logit adjustment** (Menon et al. 2021, tau = 1.5)" in card
    assert "| logit adjustment (tau) | 1.5 |" in card
    served = Classifier.load(result["version"], store=store, device="cpu")
    assert served.label_bias.tolist() == pytest.approx(
        [meta[LABEL_BIAS_KEY][label] for label in served.labels]
    )
    texts = [r[0] for r in rows[:6]]
    expected = (served.logits(texts) / meta["temperature"]).softmax(-1)
    for prediction, probs in zip(served.predict(texts), expected, strict=True):
        assert list(prediction.scores.values()) == pytest.approx(probs.tolist(), abs=1e-6)


def test_no_adjustment_writes_no_bias(capsys, tiny_base: Path, store_dir: Path, tmp_path: Path):
    result = trained(capsys, tiny_base, write_csv(tmp_path / "export.csv", make_rows(8)), "0")
    meta = ModelStore(store_dir).metadata(result["version"])
    assert LABEL_BIAS_KEY not in meta and meta["training_args"]["logit_adjustment"] == 0
    served = Classifier.load(result["version"], store=ModelStore(store_dir), device="cpu")
    assert served.label_bias is None


def test_the_bias_comes_from_the_training_rows_and_is_off_at_zero() -> None:
    rows = [Example("t", "a")] * 9 + [Example("t", "b")]
    assert label_bias(0.0, rows) is None
    assert label_bias(1.0, rows) == pytest.approx({"a": -math.log(0.9), "b": -math.log(0.1)})


def outcome_of(tiny_model: Path, eval_logits: torch.Tensor | None) -> TrainOutcome:
    model = Classifier.load(str(tiny_model), device="cpu")
    metrics = {"accuracy": 0.0, "macro_f1": 0.0, "history_note": "kept"}
    return TrainOutcome(model.model, model.tokenizer, LABELS, metrics, 1, eval_logits=eval_logits)


def test_the_probe_and_the_recipes_held_out_logits_get_the_bias(tiny_model: Path) -> None:
    rows = [Example("t", "negative")] * 8 + [Example("t", "neutral")] + [Example("t", "positive")]
    held = torch.zeros(2, 3)
    outcome = outcome_of(tiny_model, held.clone())
    probe, bias = biased_probe(outcome, rows, 1.0, torch.device("cpu"))
    assert bias == label_bias(1.0, rows)
    expected = torch.tensor([bias[label] for label in LABELS])
    assert torch.allclose(probe.label_bias, expected)
    assert torch.allclose(outcome.eval_logits, held + expected)
    plain, none = biased_probe(outcome_of(tiny_model, None), rows, 0.0, torch.device("cpu"))
    assert none is None and plain.label_bias is None


def test_the_held_out_metrics_are_rescored_with_the_adjusted_logits(tiny_model: Path) -> None:
    outcome = outcome_of(tiny_model, None)
    eval_rows = [Example("t", "negative"), Example("t", "neutral"), Example("t", "positive")]
    held = torch.tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    metrics = rescored(outcome, held, eval_rows, {label: 0.0 for label in LABELS})
    assert metrics["accuracy"] == metrics["macro_f1"] == 1.0
    assert metrics["history_note"] == "kept" and metrics["confusion_matrix"][1] == [0, 1, 0]
    assert rescored(outcome, held, eval_rows, None) is outcome.metrics
    assert rescored(outcome, held, [], {label: 0.0 for label in LABELS}) is outcome.metrics
