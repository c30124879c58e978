"""Training only the top layers: the cached lower states give the same forward pass, the
frozen part does not move, and the model comes back whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier.encoding import collate, encode
from classifier.exports import Example
from classifier.upper_gradients import encoder_layers
from tests.conftest import make_rows
from tests.tiny_encoders import make_distilbert
from training.config import TrainConfig
from training.few_shot import FewShotSchedule, train_few_shot
from training.finetune import load_base
from training.upper_layers import (
    frozen_count,
    lower_states,
    padded_states,
    upper_only,
)


def examples(n_per_label: int, seed: int = 0) -> list[Example]:
    return [
        Example(t, label, f"x:{i}") for i, (t, label) in enumerate(make_rows(n_per_label, seed))
    ]


@pytest.fixture(params=["bert", "distilbert"])
def base(request, tiny_base: Path, tmp_path: Path) -> tuple[Path, str]:
    """A tiny base and the pooling its head takes (DistilBERT's: [CLS] only)."""
    if request.param == "bert":
        return tiny_base, "mean"
    return make_distilbert(tmp_path / "distilbert"), "cls"


def test_frozen_count_checks_the_range(tiny_base: Path) -> None:
    model, _ = load_base(str(tiny_base), ["a", "b"], "mean")
    assert frozen_count(model, None) == 0
    assert frozen_count(model, 2) == 0 and frozen_count(model, 1) == 1
    for bad in (0, 3):
        with pytest.raises(ValueError, match="between 1 and 2"):
            frozen_count(model, bad)


def test_the_upper_layers_on_cached_states_give_the_full_forward_pass(base) -> None:
    path, pooling = base
    model, tokenizer = load_base(str(path), ["a", "b"], pooling)
    model.eval()
    rows = encode(tokenizer, ["a short one", "a rather longer text than that", "mid"], 32)
    pad, cpu = tokenizer.pad_token_id, torch.device("cpu")
    pooled, states = lower_states(model, rows, pad, cpu, frozen=1)
    assert [len(s) for s in states] == [len(r.input_ids) for r in rows]
    batch = collate(rows, pad)
    bottom = encoder_layers(model)[0]
    calls: list[int] = []
    bottom.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        full = model.base_model(**batch).last_hidden_state
        assert calls == [1]
        with upper_only(model, 1) as feed:
            feed["states"] = padded_states(states)
            upper = model.base_model(**batch).last_hidden_state
    assert calls == [1]  # the frozen layer did not run again
    mask = batch["attention_mask"].bool()
    assert torch.allclose(full[mask], upper[mask], atol=1e-5)
    assert len(encoder_layers(model)) == 2  # the stack is whole again
    assert pooled.shape[0] == 3


def test_few_shot_with_one_trained_layer_moves_only_the_top(tiny_base: Path) -> None:
    config = TrainConfig(batch_size=8, max_length=32, freeze_word_embeddings=False)
    schedule = FewShotSchedule(epochs=4, min_steps=4, lr=1e-2, train_layers=1)
    before, _ = load_base(str(tiny_base), ["negative", "neutral", "positive"], "mean")
    outcome = train_few_shot(
        examples(4),
        [],
        base=str(tiny_base),
        config=config,
        device=torch.device("cpu"),
        schedule=schedule,
    )
    bottom_before, top_before = encoder_layers(before)
    bottom_after, top_after = encoder_layers(outcome.model)
    for old, new in zip(bottom_before.parameters(), bottom_after.parameters(), strict=True):
        assert torch.equal(old, new)
    moved = [
        not torch.equal(old, new)
        for old, new in zip(top_before.parameters(), top_after.parameters(), strict=True)
    ]
    assert any(moved)
    words = before.get_input_embeddings().weight
    assert torch.equal(words, outcome.model.get_input_embeddings().weight)
    assert all(p.requires_grad for p in encoder_layers(outcome.model)[0].parameters())
