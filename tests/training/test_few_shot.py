"""The few-shot recipe: when it is chosen, its head start, its contrastive term, and that it
learns from every row and says where its metrics come from."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from classifier.base_model import BaseModelError
from classifier.exports import Example
from classifier.store import ModelStore
from tests.conftest import last_json, make_rows, write_csv
from tests.tiny_encoders import make_distilbert
from training.__main__ import main as training_main
from training.config import TrainConfig
from training.few_shot import (
    FEW_SHOT_BELOW,
    FewShotSchedule,
    _batches,
    _paired_batches,
    choose_recipe,
    fit_head,
    supervised_contrastive,
    train_few_shot,
)

FAST = FewShotSchedule(epochs=20, min_steps=6, lr=1e-2)
UNTRAINED = FewShotSchedule(epochs=0, min_steps=1, lr=1e-12, refit_head=False)


def examples(n_per_label: int, seed: int = 0) -> list[Example]:
    return [
        Example(t, label, f"x:{i}") for i, (t, label) in enumerate(make_rows(n_per_label, seed))
    ]


def test_auto_is_few_shot_below_the_threshold_on_mean_poolable_heads(tiny_base, tmp_path):
    few, many = examples(FEW_SHOT_BELOW - 1), examples(FEW_SHOT_BELOW)
    assert choose_recipe("auto", few, str(tiny_base), "auto") == "few-shot"
    assert choose_recipe("auto", many, str(tiny_base), "auto") == "standard"
    assert choose_recipe("auto", few, str(tiny_base), "cls") == "standard"
    assert choose_recipe("standard", few, str(tiny_base), "auto") == "standard"
    distilbert = str(make_distilbert(tmp_path / "distilbert"))
    assert choose_recipe("auto", few, distilbert, "auto") == "standard"
    with pytest.raises(BaseModelError, match="needs mean pooling"):
        choose_recipe("few-shot", few, distilbert, "auto")
    with pytest.raises(ValueError, match="unknown recipe"):
        choose_recipe("fast", few, distilbert, "auto")


def test_the_head_starts_as_a_logistic_regression_that_separates_the_classes() -> None:
    torch.manual_seed(0)
    centres = torch.randn(3, 8) * 3
    targets = torch.arange(3).repeat_interleave(5)
    features = centres[targets] + 0.3 * torch.randn(15, 8)
    weight, bias = fit_head(features, targets, 3, c=1.0)
    assert weight.shape == (3, 8) and bias.shape == (3,)
    assert torch.equal((features @ weight.T + bias).argmax(1), targets)
    weaker, _ = fit_head(features, targets, 3, c=0.01)  # stronger L2: smaller weights
    assert weaker.norm() < weight.norm()


def test_contrastive_loss_rewards_same_label_neighbours() -> None:
    targets = torch.tensor([0, 0, 1, 1])
    together = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    good = supervised_contrastive(together, targets, 0.1)
    bad = supervised_contrastive(mixed, targets, 0.1)
    assert good < bad
    lonely = supervised_contrastive(together, torch.tensor([0, 1, 2, 3]), 0.1)
    assert lonely.item() == 0.0


def test_batches_cover_every_row_before_repeating() -> None:
    batches = _batches(10, 4, 5, random.Random(0))
    assert len(batches) == 5 and all(len(b) == 4 for b in batches)
    flat = [i for b in batches for i in b]
    assert sorted(flat[:10]) == list(range(10))


def test_paired_batches_give_every_label_a_partner_even_a_rare_one() -> None:
    targets = [0] * 40 + [1] * 40 + [2] * 3
    batches = _paired_batches(targets, 8, 30, random.Random(0))
    assert len(batches) == 30 and all(len(b) == 8 for b in batches)
    for batch in batches:
        labels = [targets[i] for i in batch]
        assert all(labels.count(label) >= 2 for label in (0, 1, 2))


def test_paired_batches_rotate_through_labels_that_do_not_fit_in_one_batch() -> None:
    targets = [i % 12 for i in range(120)]
    batches = _paired_batches(targets, 8, 3, random.Random(1))
    assert {targets[i] for batch in batches for i in batch[:8]} == set(range(12))
    assert all(len({targets[i] for i in batch[:8]}) == 4 for batch in batches)


def test_trains_on_every_row_and_scores_the_eval_rows(tiny_base) -> None:
    rows, held = examples(6), examples(3, seed=4)
    # The tiny encoder is random: it has to learn its word vectors to separate the labels.
    config = TrainConfig(batch_size=8, max_length=32, freeze_word_embeddings=False)

    def fit(train_rows, eval_rows, schedule):
        cpu = torch.device("cpu")
        return train_few_shot(
            train_rows, eval_rows, base=str(tiny_base), config=config, device=cpu, schedule=schedule
        )

    start, outcome = fit(rows, held, UNTRAINED), fit(rows, held, FAST)
    assert outcome.pooling == "mean" and outcome.labels == ["negative", "neutral", "positive"]
    assert outcome.eval_logits is not None and outcome.eval_logits.shape == (len(held), 3)
    assert outcome.metrics["accuracy"] > start.metrics["accuracy"] + 0.2
    alone = fit(rows, [], FAST)
    assert alone.metrics == {} and alone.eval_logits is None


def test_cli_few_shot_version_records_recipe_and_where_its_metrics_come_from(
    capsys, tiny_base, store_dir, tmp_path
) -> None:
    data = write_csv(tmp_path / "few.csv", make_rows(10))
    args = ["train", "--data", str(data), "--base", str(tiny_base), "--max-length", "32"]
    assert training_main([*args, "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["recipe"] == "few-shot" and "refit on all 30 rows" in result["metrics_from"]
    meta = json.loads((Path(result["path"]) / "heed.json").read_text())
    assert meta["recipe"] == "few-shot" and meta["pooling"] == "mean"
    assert meta["training_args"]["recipe"] == "auto" and meta["few_shot_schedule"]["epochs"]
    assert meta["rows"] == {"train": 24, "eval": 6}
    card = (Path(result["path"]) / "README.md").read_text()
    assert "refit on all 30 rows" in card and "| recipe | few-shot |" in card
    assert 'Classifier.load("models/' in card and "pipeline(" not in card  # mean-pooled
    assert ModelStore(store_dir).versions() == [result["version"]]
