"""ModelStore: immutable versions, atomic pointer, promote and rollback."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifier.store import (
    HistoryError,
    ModelNotFoundError,
    ModelStore,
    ServingChangedError,
    StoreError,
    read_metadata,
)


def fake_version(store: ModelStore) -> str:
    with store.new_version() as (version, staging):
        (staging / "config.json").write_text("{}")
        (staging / "model.safetensors").write_bytes(b"x")
    return version


def test_new_version_appears_only_when_complete(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    version = fake_version(store)
    assert store.versions() == [version]
    assert store.current() is None
    with pytest.raises(RuntimeError), store.new_version() as (_, staging):
        (staging / "config.json").write_text("{}")
        raise RuntimeError("crash mid-write")
    with pytest.raises(KeyboardInterrupt), store.new_version():
        raise KeyboardInterrupt
    assert store.versions() == [version]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_version_without_weights_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(StoreError, match="no safetensors model"), store.new_version():
        pass
    assert store.versions() == []


def test_promote_and_rollback(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first, second = fake_version(store), fake_version(store)
    store.promote(first)
    store.promote(second)
    assert store.current() == second
    assert store.resolve("current").path == tmp_path / second
    assert store.rollback() == (second, first)
    assert store.current() == first
    with pytest.raises(StoreError, match="nothing to roll back to"):
        store.rollback()
    assert store.current() == first
    assert (tmp_path / "current").read_text() == first + "\n"


def test_resolve_errors(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "empty")
    with pytest.raises(ModelNotFoundError, match="no model is serving"):
        store.resolve("current")
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        store.resolve("nope")
    with pytest.raises(ModelNotFoundError):
        store.promote("20990101-000000-abcdef")


def test_model_directory_resolves_to_itself(tiny_model: Path, tmp_path: Path) -> None:
    ref = ModelStore(tmp_path).resolve(str(tiny_model))
    assert ref.path == tiny_model


def test_versions_made_in_the_same_second_list_in_publication_order(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    made = [fake_version(store) for _ in range(5)]
    assert store.versions() == made


@pytest.mark.parametrize("content", ['["2026', "{}", "[1, 2]", "\xff\xfe"])
def test_a_damaged_history_is_a_clear_error(tmp_path: Path, content: str) -> None:
    store = ModelStore(tmp_path)
    (tmp_path / "history.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(HistoryError, match=r"promotion history .* is damaged .*restore it"):
        store.history()
    with pytest.raises(HistoryError):
        store.rollback()


def test_read_metadata_is_empty_for_a_missing_broken_or_non_object_heed_json(
    tmp_path: Path,
) -> None:
    assert read_metadata(tmp_path) == {}
    (tmp_path / "heed.json").write_text("{broken", encoding="utf-8")
    assert read_metadata(tmp_path) == {}
    (tmp_path / "heed.json").write_text("[1, 2]", encoding="utf-8")
    assert read_metadata(tmp_path) == {}
    (tmp_path / "heed.json").write_text('{"temperature": 1.5}', encoding="utf-8")
    assert read_metadata(tmp_path) == {"temperature": 1.5}


def test_promote_checks_the_version_under_the_store_lock(tmp_path: Path) -> None:
    """A prune that deletes the version between a check and the act must not leave ``current``
    naming a deleted version."""
    store = ModelStore(tmp_path)
    serving, doomed = fake_version(store), fake_version(store)
    store.promote(serving)
    locked = store._locked

    @contextlib.contextmanager
    def pruned_first() -> Iterator[None]:
        with locked():
            shutil.rmtree(tmp_path / doomed)  # what a prune holding the lock first would do
            yield

    store._locked = pruned_first  # type: ignore[method-assign]
    with pytest.raises(ModelNotFoundError):
        store.promote(doomed)
    assert store.current() == serving
    assert store.history() == [serving]


def test_promote_refuses_when_serving_changed_since_it_was_judged(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first, second, trained = fake_version(store), fake_version(store), fake_version(store)
    store.promote(first)
    store.promote(second)
    store.rollback()  # an admin's rollback while `trained` was judged against `second`
    with pytest.raises(ServingChangedError, match="the serving model changed during training"):
        store.promote(trained, judged_against=second)
    assert store.current() == first
    store.promote(trained, judged_against=first)
    assert store.current() == trained
