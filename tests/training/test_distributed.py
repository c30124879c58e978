"""Data-parallel training: ``torchrun --nproc-per-node 2 -m training train`` on gloo (CPU).

The two-process run must publish one version, written and promoted by rank 0 alone, whose
per-epoch metrics match a one-process run of the same recipe (the global batch is split
across the ranks, so the recipe does not change with the number of processes). A failure on
any rank must leave no version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from classifier.store import ModelStore
from tests.conftest import REPO, last_json, make_rows, write_csv
from training.config import TrainConfig
from training.distributed import Dist
from training.pipeline import run_train

RECIPE = ["--epochs", "3", "--batch-size", "8", "--max-length", "32", "--lr", "1e-3"]
RECIPE += ["--head-lr-scale", "1", "--train-embeddings", "--promote", "--json"]


@pytest.fixture(scope="module")
def steady_base(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT without dropout, so one and two processes see the same forward pass."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    path = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    model = BertForSequenceClassification.from_pretrained(
        tiny_base, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(path)
    return path


def _run(launcher: list[str], data: Path, base: Path, store: Path) -> tuple[dict, str]:
    env = {**os.environ, "HEED_MODEL_DIR": str(store), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    done = subprocess.run(
        [*launcher, "-m", "training", "train", "--data", str(data), "--base", str(base), *RECIPE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return last_json(done.stdout), done.stdout


def test_two_gloo_processes_match_one(steady_base: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(40))
    single, _ = _run([sys.executable], data, steady_base, tmp_path / "one")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    double, stdout = _run([*torchrun, "--nproc-per-node", "2"], data, steady_base, tmp_path / "two")

    assert double["ok"] is True and double["promoted"] is True
    assert sum(line.startswith("{") for line in stdout.splitlines()) == 1  # rank 0 speaks
    store = ModelStore(tmp_path / "two")
    assert store.versions() == [double["version"]] == [store.current()]
    assert not list((tmp_path / "two").glob(".staging-*"))
    meta = json.loads((Path(double["path"]) / "heed.json").read_text())
    assert meta["processes"] == 2
    assert double["rows"] == single["rows"] and double["best_epoch"] == single["best_epoch"]
    one = json.loads((Path(single["path"]) / "heed.json").read_text())["history"]
    for a, b in zip(one, meta["history"], strict=True):
        assert b["accuracy"] == pytest.approx(a["accuracy"], abs=0.05)
        assert b["macro_f1"] == pytest.approx(a["macro_f1"], abs=0.05)
    # The same recipe: the weights agree to float rounding, far below what training moved.
    weights = [load_file(Path(r["path"]) / "model.safetensors") for r in (single, double)]
    start = load_file(steady_base / "model.safetensors")
    body = [k for k in start if k in weights[0] and not k.startswith("classifier.")]
    drift = max((weights[0][k] - start[k]).abs().max().item() for k in body)
    gap = max((weights[0][k] - weights[1][k]).abs().max().item() for k in weights[0])
    assert gap < 1e-4 < drift


def test_a_rank_that_fails_leaves_no_version(tiny_base: Path, tmp_path: Path, monkeypatch) -> None:
    """Rank 0 has written everything when the last collective fails (another rank died):
    nothing is published and the staging folder is gone."""

    def peer_died(self: Dist) -> None:
        raise RuntimeError("Connection closed by peer")

    monkeypatch.setattr(Dist, "all_succeeded", peer_died)
    data = write_csv(tmp_path / "d.csv", make_rows(5))
    store = ModelStore(tmp_path / "models")
    config = TrainConfig(epochs=1, batch_size=8, max_length=32)
    with pytest.raises(RuntimeError, match="peer"):
        run_train([data], store=store, config=config, device=_cpu(), base=str(tiny_base))
    assert store.versions() == [] and store.current() is None
    assert not list(store.root.glob(".staging-*"))


def test_rows_are_shared_so_gradients_average_to_the_batch_mean() -> None:
    batch = [10, 11, 12, 13, 14]
    shares = [Dist(rank, 2).share(batch) for rank in (0, 1)]
    assert shares == [([10, 12, 14], 2 / 5), ([11, 13], 2 / 5)]
    assert sorted(i for rows, _ in shares for i in rows) == batch
    assert Dist(2, 3).share([7, 8]) == ([7], 0.0)  # no rows: runs one, weighs nothing
    assert Dist().share(batch) == (batch, 1 / 5)


def test_world_comes_from_torchruns_environment() -> None:
    assert Dist.from_env({}) == Dist()
    dist = Dist.from_env({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert (dist.rank, dist.world_size, dist.local_rank, dist.is_main) == (3, 4, 1, False)
    assert Dist(0, 2, 0).shard(list("abcde")) == ["a", "c", "e"]


def _cpu():
    import torch

    return torch.device("cpu")
