"""The AdamW set-up both recipes share: which parameters decay, which learn faster, and that
the few-shot recipe steps exactly as it did with its own two groups."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from training.config import TrainConfig
from training.few_shot import FewShotSchedule
from training.optimizer import adamw, no_decay_names, parameter_groups


@pytest.fixture()
def model(tiny_base: Path) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    loaded = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, num_labels=3, ignore_mismatched_sizes=True
    )
    loaded.get_input_embeddings().weight.requires_grad_(False)  # both recipes' default
    return loaded


def settings(groups: list[dict], model: torch.nn.Module) -> dict[str, tuple[float, float]]:
    """Each trainable parameter's ``(lr, weight_decay)`` by name."""
    by_id = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    return {name: by_id[id(p)] for name, p in model.named_parameters() if id(p) in by_id}


def test_the_head_learns_faster_and_biases_and_norms_do_not_decay(model) -> None:
    groups = parameter_groups(model, lr=1e-4, weight_decay=0.01, head_lr_scale=20)
    per_name = settings(groups, model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(per_name) == trainable  # frozen word embeddings are left out
    no_decay = no_decay_names(model)
    for name, (lr, decay) in per_name.items():
        head = name.startswith(("classifier.", "bert.pooler."))
        assert lr == pytest.approx(2e-3 if head else 1e-4), name
        assert decay == (0.0 if name in no_decay else 0.01), name
        assert (name in no_decay) == (name.endswith("bias") or "LayerNorm" in name), name


def test_both_recipes_get_the_same_groups_but_the_few_shot_head_keeps_the_encoder_lr(
    model,
) -> None:
    config, schedule = TrainConfig(), FewShotSchedule()
    standard = settings(
        parameter_groups(
            model,
            lr=config.lr,
            weight_decay=config.weight_decay,
            head_lr_scale=config.head_lr_scale,
        ),
        model,
    )
    few_shot = settings(
        parameter_groups(model, lr=schedule.lr, weight_decay=config.weight_decay), model
    )
    assert standard.keys() == few_shot.keys()
    assert {n: d for n, (_, d) in standard.items()} == {n: d for n, (_, d) in few_shot.items()}
    assert {lr for lr, _ in few_shot.values()} == {schedule.lr}
    assert {lr for lr, _ in standard.values()} == {config.lr, config.lr * config.head_lr_scale}


def test_the_few_shot_optimiser_steps_exactly_as_its_former_two_groups(model) -> None:
    """The groups the few-shot recipe built for itself before it shared this set-up: decay
    and no decay, one lr. Same gradients, same steps: the same weights, bit for bit."""
    former_model, shared_model = model, copy.deepcopy(model)
    start = copy.deepcopy(model.classifier.weight)
    no_decay = no_decay_names(former_model)
    params = [(n, p) for n, p in former_model.named_parameters() if p.requires_grad]
    former = torch.optim.AdamW(
        [
            {"params": [p for n, p in params if n not in no_decay]},
            {"params": [p for n, p in params if n in no_decay], "weight_decay": 0.0},
        ],
        lr=5e-2,
        weight_decay=0.01,
    )
    shared = adamw(shared_model, lr=5e-2, weight_decay=0.01)
    inputs = torch.randint(0, 100, (4, 8))
    for step in range(3):
        for net, optimizer in ((former_model, former), (shared_model, shared)):
            torch.manual_seed(step)  # the same dropout masks in both
            net.train()
            loss = net(input_ids=inputs, labels=torch.tensor([0, 1, 2, 0])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    for (name, before), (_, after) in zip(
        former_model.state_dict().items(), shared_model.state_dict().items(), strict=True
    ):
        assert torch.equal(before, after), name
    assert not torch.equal(start, shared_model.classifier.weight)  # the steps moved it
