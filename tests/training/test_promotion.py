"""Promotion after training: not worse than what served when training began, and only while
that still serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier.store import ModelStore
from training import pipeline


def fake_version(store: ModelStore) -> str:
    with store.new_version() as (version, staging):
        (staging / "config.json").write_text("{}")
        (staging / "model.safetensors").write_bytes(b"x")
    return version


@pytest.fixture
def baseline_f1(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The serving model scores this macro-F1 (no model is loaded)."""
    score = [0.5]
    monkeypatch.setattr(pipeline.Classifier, "load", lambda *args, **kwargs: object())
    monkeypatch.setattr(pipeline, "evaluate", lambda *args: {"macro_f1": score[0]})
    return score


def test_not_worse_is_promoted(tmp_path: Path, baseline_f1: list[float]) -> None:
    store = ModelStore(tmp_path)
    serving, trained = fake_version(store), fake_version(store)
    store.promote(serving)
    promoted, decision = pipeline.promote_if_not_worse(
        store, trained, serving, 0.6, [], torch.device("cpu")
    )
    assert promoted and store.current() == trained
    assert decision["baseline_version"] == serving


def test_a_rollback_during_training_is_not_overwritten(
    tmp_path: Path, baseline_f1: list[float]
) -> None:
    store = ModelStore(tmp_path)
    first, second, trained = fake_version(store), fake_version(store), fake_version(store)
    store.promote(first)
    store.promote(second)  # serving when the training began
    store.rollback()  # an admin rolls back while it trains
    promoted, decision = pipeline.promote_if_not_worse(
        store, trained, second, 0.9, [], torch.device("cpu")
    )
    assert not promoted
    assert decision["reason"].startswith("the serving model changed during training")
    assert store.current() == first


def test_a_rollback_while_judging_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, baseline_f1: list[float]
) -> None:
    store = ModelStore(tmp_path)
    first, second, trained = fake_version(store), fake_version(store), fake_version(store)
    store.promote(first)
    store.promote(second)

    def rollback_meanwhile(*args: object) -> dict:
        store.rollback()
        return {"macro_f1": 0.1}

    monkeypatch.setattr(pipeline, "evaluate", rollback_meanwhile)
    promoted, decision = pipeline.promote_if_not_worse(
        store, trained, second, 0.9, [], torch.device("cpu")
    )
    assert not promoted and "the serving model changed during training" in decision["reason"]
    assert store.current() == first
