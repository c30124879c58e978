"""Promotion is judged on trusted rows: HEED_EVAL_DATA when set, else a split of
HEED_TRAIN_DATA; corrections are learnt from, never judged on. With corrections that flip
every label, a retrain judged on HEED_EVAL_DATA is refused promotion (real training child on
the tiny model)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.database import Database
from bot.retrain.jobs import RetrainError
from bot.retrain.runner import CORRECTIONS_FILENAME, NO_TRUSTED_EVAL, RetrainRunner
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv

FLIP = {"negative": "neutral", "neutral": "positive", "positive": "negative"}
LEARNS = ("--epochs", "8", "--lr", "0.005", "--batch-size", "8", "--train-embeddings")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "heed.sqlite3")
    yield database
    database.close()


def labeler_answers(db: Database, rows: list[tuple[str, str]]) -> None:
    for text, label in rows:
        pid = db.predictions.record(text=text, label=label, model_version="v0")
        db.predictions.record_answer(pid, "ULABEL", FLIP[label], role="labeler")


def test_the_command_keeps_corrections_out_of_the_eval_rows(tmp_path: Path, db: Database) -> None:
    train, held = tmp_path / "train.csv", tmp_path / "eval.csv"
    judged = RetrainRunner(tmp_path, [train], db, timeout_s=5, eval_files=[held])
    split = RetrainRunner(tmp_path, [train], db, timeout_s=5)
    corrections = tmp_path / CORRECTIONS_FILENAME
    head = [sys.executable, "-m", "training", "train"]
    tail = ["--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes"]
    assert judged.command(judged.request(corrections)) == [
        *head,
        *("--data", str(train), str(corrections), "--eval-data", str(held)),
        *tail,
    ]
    assert split.command(split.request(corrections)) == [
        *head,
        *("--data", str(train), "--train-only", str(corrections)),
        *tail,
    ]
    assert split.command(split.request(None)) == [*head, "--data", str(train), *tail]


def test_corrections_alone_cannot_judge_a_model(tmp_path: Path, db: Database) -> None:
    labeler_answers(db, make_rows(2))
    runner = RetrainRunner(tmp_path / "models", [], db, timeout_s=5)
    with pytest.raises(RetrainError, match="nothing trusted to judge"):
        runner.start("UADMIN")
    assert str(NO_TRUSTED_EVAL).startswith("nothing trusted") and db.jobs.recent() == []


def test_corrections_that_flip_every_label_are_refused_promotion(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(20))
    held = write_csv(tmp_path / "eval.csv", make_rows(10, seed=9))
    extra = ("--base", str(tiny_base), "--max-length", "32", *LEARNS)
    runner = RetrainRunner(
        store_dir, [train], db, timeout_s=300, extra_args=extra, eval_files=[held]
    )
    first = runner.start("UADMIN").wait(300)
    assert first is not None and first.status == "succeeded" and first.train.promoted, first.reason
    assert first.train.eval_split == "given"
    good = first.train.macro_f1

    labeler_answers(db, make_rows(20, seed=3))  # a troll labeler flips every label
    second = runner.start("UADMIN").wait(300)
    assert second is not None and second.status == "succeeded", second.reason
    assert not second.train.promoted and ModelStore(store_dir).current() == first.train.version
    assert second.corrections_rows == 60
    assert second.train.macro_f1 < good
    assert "is worse than" in (second.train.promotion_reason or "")
    # the metric training reported is the saved model's own (no dropout in the eval pass)
    assert f"{good:.4f}" in (second.train.promotion_reason or "")
    meta = ModelStore(store_dir).metadata(second.train.version)
    roles = sorted((d["role"], Path(d["path"]).suffix) for d in meta["data"])
    assert roles == [("eval", ".csv"), ("train", ".csv"), ("train", ".jsonl")]
    assert meta["rows"]["eval"] == 30 and meta["eval_split"] == "given"


def test_without_eval_data_the_split_comes_from_the_exports_only(
    tmp_path: Path, store_dir: Path, db: Database, tiny_base: Path
) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(10))
    labeler_answers(db, make_rows(10, seed=3))
    extra = ("--base", str(tiny_base), "--max-length", "32", "--epochs", "1")
    runner = RetrainRunner(store_dir, [train], db, timeout_s=300, extra_args=extra)
    result = runner.start("UADMIN").wait(300)
    assert result is not None and result.status == "succeeded", result.reason
    assert (result.train.eval_split or "").startswith("stratified 20% of --data")
    assert result.train.eval_rows == 6  # 20% of the 30 exported
    meta = ModelStore(store_dir).metadata(result.train.version)
    assert meta["rows"] == {"train": 24 + 30, "eval": 6}
    assert [d["role"] for d in meta["data"]] == ["train", "train-only"]
    assert (
        json.dumps(meta["label_counts"]["eval"]) == '{"negative": 2, "neutral": 2, "positive": 2}'
    )
