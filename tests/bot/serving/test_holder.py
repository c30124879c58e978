"""ModelHolder: load once, atomic swap on a pointer change, failures keep the old model;
TaskModels: a holder per task, loaded on first use, one tokenizer where files are equal."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from bot.serving.holder import HOW_TO_TRAIN, ModelHolder, TaskModels
from bot.tasks import Task, Tasks
from classifier.store import ModelNotFoundError, ModelStore
from classifier.tokenizers import SharedTokenizers


class StubClassifier:
    def __init__(self, version: str) -> None:
        self.version = version


V1, V2, V3 = "20260101-000000-aaaaaa", "20260102-000000-bbbbbb", "20260103-000000-cccccc"


def point(root: Path, version: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "current").write_text(version + "\n", encoding="utf-8")


def holder_for(root: Path, broken: set[str] | None = None, **kw: float) -> ModelHolder:
    loads: list[str] = []

    def loader(version: str, store: ModelStore) -> StubClassifier:
        loads.append(version)
        if version in (broken or set()):
            raise OSError(f"cannot read {version}")
        return StubClassifier(version=version)

    holder = ModelHolder(ModelStore(root), loader=loader, **kw)
    holder.loads = loads  # type: ignore[attr-defined]
    return holder


def test_empty_store_says_how_to_train(tmp_path: Path) -> None:
    holder = holder_for(tmp_path / "models")
    with pytest.raises(ModelNotFoundError) as err:
        holder.load()
    assert str(err.value) == HOW_TO_TRAIN.format(root=tmp_path / "models")
    assert "make demo" in str(err.value) and "--train-default" in str(err.value)
    with pytest.raises(ModelNotFoundError):
        holder.get()
    assert holder.version is None


def test_load_and_swap_only_when_the_pointer_moves(tmp_path: Path) -> None:
    point(tmp_path, V1)
    holder = holder_for(tmp_path)
    first = holder.load()
    assert first.version == V1 and holder.get() is first
    assert not holder.reload() and holder.loads == [V1]  # type: ignore[attr-defined]
    point(tmp_path, V2)
    assert holder.reload() and holder.version == V2
    assert first.version == V1  # a request holding the old one finishes with it


def test_a_broken_version_keeps_the_old_one_serving(tmp_path: Path) -> None:
    point(tmp_path, V1)
    holder = holder_for(tmp_path, broken={V2})
    holder.load()
    point(tmp_path, V2)
    assert not holder.reload() and holder.version == V1
    assert not holder.reload()  # not retried until the pointer moves again
    assert holder.loads == [V1, V2]  # type: ignore[attr-defined]
    point(tmp_path, V3)
    assert holder.reload() and holder.version == V3


def test_a_broken_first_version_raises(tmp_path: Path) -> None:
    point(tmp_path, V1)
    with pytest.raises(OSError):
        holder_for(tmp_path, broken={V1}).load()


def test_the_watcher_picks_up_a_promotion(tmp_path: Path) -> None:
    point(tmp_path, V1)
    holder = holder_for(tmp_path, poll_interval=0.05)
    holder.load()
    holder.start()
    try:
        point(tmp_path, V2)
        deadline = time.monotonic() + 5
        while holder.version != V2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert holder.version == V2
    finally:
        holder.stop()


def history(root: Path, *versions: str) -> None:
    """A store whose promotion history is ``versions`` (the last one current)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "history.json").write_text(json.dumps(list(versions)), encoding="utf-8")
    point(root, versions[-1])


def test_an_unloadable_current_falls_back_to_the_newest_loadable_version(tmp_path: Path) -> None:
    history(tmp_path, V1, V2, V3)
    holder = holder_for(tmp_path, broken={V3, V2})
    assert holder.load().version == V1
    assert holder.loads == [V3, V2, V1]  # type: ignore[attr-defined]
    assert holder.fallback is not None
    assert f"the current model {V3} cannot be loaded (OSError: cannot read {V3})" in holder.fallback
    assert f"serving {V1}" in holder.fallback
    assert ModelStore(tmp_path).current() == V3  # the pointer is left for an operator
    assert not holder.reload()  # the broken pointer is not retried until it moves
    point(tmp_path, V2.replace("bbbbbb", "dddddd"))
    assert holder.reload() and holder.fallback is None


def test_with_nothing_loadable_start_up_fails_with_the_first_error(tmp_path: Path) -> None:
    history(tmp_path, V1, V2)
    holder = holder_for(tmp_path, broken={V1, V2})
    with pytest.raises(OSError, match=f"cannot read {V2}"):
        holder.load()
    assert holder.version is None and holder.fallback is None


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


def stub_models(tmp_path: Path, names: list[str], **kw) -> tuple[TaskModels, list[str]]:
    """TaskModels of ``names`` (each store pointing at V1) with a stub loader; its loads."""
    loads: list[str] = []
    broken: set[str] = kw.pop("broken", set())

    def loader(version: str, store: ModelStore) -> StubClassifier:
        loads.append(store.root.name)
        if store.root.name in broken:
            raise OSError(f"cannot read {version}")
        return StubClassifier(version)

    tasks = {}
    for name in ["default", *names]:
        point(tmp_path / name, V1)
        tasks[name] = Task(name, tmp_path / name)
    default = ModelHolder(ModelStore(tmp_path / "default"), loader=loader)
    default.load()
    models = TaskModels(Tasks(tasks), default, loader=loader, **kw)
    return models, loads


def test_only_the_most_recently_used_tasks_stay_loaded(tmp_path: Path) -> None:
    now = [0.0]
    models, _ = stub_models(tmp_path, ["a", "b", "c"], max_loaded=2, clock=lambda: now[0])
    for name in ("a", "b", "a", "c"):  # b is the least recently used when c comes
        now[0] += 1
        models.holder(name)
    assert set(models.loaded()) == {"default", "a", "c"}


def test_idle_tasks_are_unloaded_the_default_never(tmp_path: Path) -> None:
    now = [0.0]
    models, loads = stub_models(tmp_path, ["a", "b"], idle_s=60, clock=lambda: now[0])
    models.holder("a")
    now[0] = 30
    models.holder("b")
    now[0] = 61
    assert models.unload_idle() == ["a"] and set(models.loaded()) == {"default", "b"}
    models.holder("a")  # loaded again on its next use
    assert loads.count("a") == 2


def test_a_failed_load_is_remembered_for_a_while(tmp_path: Path) -> None:
    now = [0.0]
    models, loads = stub_models(tmp_path, ["bad"], broken={"bad"}, clock=lambda: now[0])
    with pytest.raises(OSError):
        models.holder("bad")
    now[0] = 30
    for _ in range(5):  # a message each: no load attempt each
        with pytest.raises(ModelNotFoundError, match="failed to load 30s ago"):
            models.holder("bad")
    assert loads.count("bad") == 1
    point(tmp_path / "bad", V2)  # a new promotion is tried at once
    with pytest.raises(OSError):
        models.holder("bad")
    now[0] = 30 + 61
    with pytest.raises(OSError):
        models.holder("bad")
    assert loads.count("bad") == 3
