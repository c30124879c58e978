"""The model card: Hugging Face front matter, labels, data with hashes, metrics, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.base_model import EMBEDDED_HUB_ID, base_model_hub_id, embedded_base_model_dir
from training.model_card import HEATMAP_CAVEAT, model_card, write_model_card

yaml = pytest.importorskip("yaml")

META = {
    "version": "20261127-190000-a1b2c3",
    "labels": ["bad | worse", "good"],
    "base_model": "all-MiniLM-L6-v2 (embedded)",
    "base_model_id": EMBEDDED_HUB_ID,
    "architecture": "BertForSequenceClassification",
    "model_type": "bert",
    "explain_methods": ["attention", "rollout", "gradient", "attn-grad"],
    "data": [
        {"path": "/data/export.csv", "sha256": "ab" * 32, "role": "train", "rows": 100},
        {"path": "/data/held.csv", "sha256": "cd" * 32, "role": "eval", "rows": 20},
    ],
    "rows": {"train": 100, "eval": 20},
    "label_counts": {"train": {"bad | worse": 60, "good": 40}, "eval": {"bad | worse": 12}},
    "eval_split": "given",
    "training_args": {"epochs": 4, "lr": 1e-4, "max_length": 128, "batch_size": 16},
    "device": "cpu",
    "best_epoch": 3,
    "history": [{"epoch": 1, "accuracy": 0.5, "macro_f1": 0.4}],
    "metrics": {
        "accuracy": 0.85,
        "macro_f1": 0.8412,
        "per_class": {
            "bad | worse": {"precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 12},
            "good": {"precision": 0.75, "recall": 0.9, "f1": 0.82, "support": 8},
        },
        "confusion_matrix": [[10, 2], [1, 7]],
        "labels": ["bad | worse", "good"],
        "n": 20,
    },
    "train_seconds": 12.5,
    "created": "2026-11-27T19:00:00+00:00",
}


def split(card: str) -> tuple[dict, str]:
    assert card.startswith("---\n")
    _, front, body = card.split("---\n", 2)
    return yaml.safe_load(front), body


def test_front_matter_follows_the_hugging_face_convention() -> None:
    front, _ = split(model_card(META))
    assert front == {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": EMBEDDED_HUB_ID,
        "tags": ["heed", "text-classification", "bert"],
        "metrics": ["accuracy", "f1"],
    }
    unknown, _ = split(model_card({**META, "base_model_id": None}))
    assert "base_model" not in unknown


def test_the_body_holds_labels_data_metrics_and_the_matrix() -> None:
    _, body = split(model_card(META))
    assert "# Heed text classifier `20261127-190000-a1b2c3`" in body
    assert r"| 0 | bad \| worse | 60 | 12 |" in body
    assert "| 1 | good | 40 | 0 |" not in body and "| 1 | good | 40 | — |" in body
    assert f"| train | export.csv | 100 | `{'ab' * 32}` |" in body
    assert f"| eval | held.csv | 20 | `{'cd' * 32}` |" in body
    assert "| 0.850 | 0.841 | 20 |" in body
    assert r"| bad \| worse | 0.900 | 0.800 | 0.850 | 12 |" in body
    assert r"| true \ predicted | bad \| worse | good |" in body
    assert r"| bad \| worse | 10 | 2 |" in body and "| good | 1 | 7 |" in body
    assert "![Confusion matrix of the held-out evaluation](confusion_matrix.png)" in body
    assert 'pipeline("text-classification", model="models/20261127-190000-a1b2c3")' in body


def test_intended_use_and_limits_carry_the_heatmap_caveat() -> None:
    _, body = split(model_card(META))
    intended, limits = body.index("## Intended use"), body.index("## Limits")
    assert intended < limits
    assert HEATMAP_CAVEAT in body[limits:] and "hint, not proof" in body[limits:]
    assert "Attention is not Explanation" in body and "128 tokens" in body
    no_attention = model_card({**META, "explain_methods": ["gradient"]})
    assert "`attention`, `rollout` and `attn-grad` are unavailable" in no_attention


def test_write_model_card_writes_readme_md(tmp_path: Path) -> None:
    path = write_model_card(tmp_path, META)
    assert path == tmp_path / "README.md"
    assert path.read_text(encoding="utf-8") == model_card(META)


def test_the_base_models_hub_id(tmp_path: Path) -> None:
    assert base_model_hub_id(str(embedded_base_model_dir())) == EMBEDDED_HUB_ID
    assert base_model_hub_id("distilbert/distilbert-base-uncased") == (
        "distilbert/distilbert-base-uncased"
    )
    assert base_model_hub_id(str(tmp_path)) is None
    (tmp_path / "heed.json").write_text(json.dumps({"base_model_id": "FacebookAI/xlm-roberta"}))
    assert base_model_hub_id(str(tmp_path)) == "FacebookAI/xlm-roberta"  # continuing a version


CALIBRATION = {
    "temperature": 1.8,
    "calibrated": True,
    "reason": None,
    "rows": 20,
    "bins": 15,
    "ece_before": 0.1234,
    "ece_after": 0.0456,
    "nll_before": 0.61,
    "nll_after": 0.42,
    "reliability_diagram": "reliability_diagram.png",
}


def section(card: str, title: str) -> str:
    start = card.index(f"## {title}")
    return card[start : card.index("\n## ", start + 1)]


def test_the_card_shows_the_temperature_and_ece_before_and_after() -> None:
    meta = {**META, "temperature": 1.8, "calibration": CALIBRATION}
    text = section(model_card(meta), "Calibration")
    assert "**T = 1.8**" in text and "20 held-out rows" in text
    assert "| before (T = 1) | 0.1234 | 0.6100 |" in text
    assert "| after (T = 1.8) | 0.0456 | 0.4200 |" in text
    assert "![Reliability diagram, before and after](reliability_diagram.png)" in text


def test_an_uncalibrated_version_says_why_and_an_old_one_has_no_temperature() -> None:
    skipped = {
        **CALIBRATION,
        "temperature": 1.0,
        "calibrated": False,
        "reason": "3 held-out rows (at least 10 needed)",
        "ece_after": 0.1234,
    }
    text = section(model_card({**META, "temperature": 1.0, "calibration": skipped}), "Calibration")
    assert "**Not calibrated: 3 held-out rows (at least 10 needed).** T = 1" in text
    old = section(model_card(META), "Calibration")
    assert "no temperature: its confidences are the plain softmax" in old
