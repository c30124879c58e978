"""TaskModels: a holder per task, loaded on first use, one tokenizer where files are equal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.serving.holder import ModelHolder
from bot.serving.tasks import TaskModels
from bot.tasks import Task, Tasks
from classifier.store import ModelNotFoundError, ModelStore
from classifier.tokenizers import SharedTokenizers

VERSION = "20260101-000000-abcdef"


def store_at(tiny_model: Path, root: Path) -> Path:
    shutil.copytree(tiny_model, root / VERSION)
    (root / "current").write_text(VERSION + "\n", encoding="utf-8")
    return root


def test_tasks_load_on_first_use_and_share_one_tokenizer(tiny_model: Path, tmp_path: Path):
    root = store_at(tiny_model, tmp_path / "models")
    store_at(tiny_model, root / "support")
    (root / "empty").mkdir()
    tasks = Tasks(
        {
            "default": Task("default", root),
            "support": Task("support", root / "support"),
            "empty": Task("empty", root / "empty"),
        }
    )
    shared = SharedTokenizers()
    default = ModelHolder(ModelStore(root), device="cpu", tokenizers=shared)
    default.load()
    models = TaskModels(tasks, default, device="cpu", tokenizers=shared)
    assert list(models.loaded()) == ["default"]
    support = models.holder("support")
    assert models.holder("support") is support and set(models.loaded()) == {"default", "support"}
    assert support.get().tokenizer is default.get().tokenizer and shared.loads == 1
    assert support.get().predict(["fine"])[0].label in ("negative", "neutral", "positive")
    with pytest.raises(ModelNotFoundError):
        models.holder("empty")
    assert "empty" not in models.loaded()  # a later request tries again
    with pytest.raises(KeyError):
        models.holder("nope")
    models.start_watching()
    models.stop()


def test_different_tokenizer_files_are_not_shared(tiny_model: Path, tmp_path: Path) -> None:
    other = Path(shutil.copytree(tiny_model, tmp_path / "other"))
    (other / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    shared = SharedTokenizers()
    shared.get(tiny_model)
    shared.get(tiny_model)
    assert shared.loads == 1
    shared.get(other)
    assert shared.loads == 2
