"""``python -m training train|evaluate``: results and human errors, on the tiny random BERT.

Most calls go through ``main()`` in-process; one test runs the real ``python -m`` processes.
Every failure kind of the ``--json`` contract is in ``test_contract.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classifier.store import ModelStore
from tests.conftest import REPO, last_json, make_rows, write_csv
from training.__main__ import main as training_main
from training.cli import build_parser

TINY_ARGS = ["--epochs", "1", "--batch-size", "8", "--max-length", "32"]


def train(capsys, tiny_base: Path, *data: Path, extra: tuple[str, ...] = ()) -> dict:
    args = ["train", *(["--data", *map(str, data)] if data else []), "--base", str(tiny_base)]
    args += [*TINY_ARGS, *extra]
    assert training_main([*args, "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result.pop("ok") is True
    return result


def test_train_json_contract_and_first_promotion(capsys, tiny_base, store_dir, export) -> None:
    result = train(capsys, tiny_base, export, extra=("--promote",))
    assert set(result) >= {
        "version",
        "path",
        "labels",
        "metrics",
        "calibration",
        "promoted",
        "seconds",
    }
    assert set(result["metrics"]) >= {"accuracy", "macro_f1", "per_class"}
    assert result["labels"] == ["negative", "neutral", "positive"]
    assert result["promoted"] is True
    store = ModelStore(store_dir)
    assert store.current() == result["version"] == store.versions()[0]
    version_dir = Path(result["path"])
    for name in (
        "model.safetensors",
        "config.json",
        "heed.json",
        "confusion_matrix.png",
        "reliability_diagram.png",
    ):
        assert (version_dir / name).is_file(), name
    assert not list(version_dir.glob("*.bin")) and not list(version_dir.glob("*.pt"))
    meta = json.loads((version_dir / "heed.json").read_text())
    assert meta["labels"] == result["labels"]
    assert meta["data"][0]["sha256"] and meta["rows"] == {"train": 72, "eval": 18}
    assert meta["temperature"] == result["calibration"]["temperature"] > 0
    assert meta["calibration"] == result["calibration"]
    # 30 rows a label: the standard recipe; the default pooling resolves to mean on BERT.
    assert meta["recipe"] == result["recipe"] == "standard" and meta["pooling"] == "mean"
    assert meta["training_args"]["pooling"] == "auto"
    assert json.loads((version_dir / "config.json").read_text())["id2label"]["0"] == "negative"


def test_promotion_refuses_a_worse_model(capsys, tiny_base, store_dir, export) -> None:
    learns = ("--epochs", "6", "--lr", "5e-3", "--batch-size", "8", "--train-embeddings")
    first = train(capsys, tiny_base, export, extra=("--promote", *learns))
    worse = train(capsys, tiny_base, export, extra=("--promote", "--lr", "1e-9"))
    assert first["metrics"]["macro_f1"] > worse["metrics"]["macro_f1"]
    assert worse["promoted"] is False
    assert "worse than" in worse["promotion"]["reason"]
    assert ModelStore(store_dir).current() == first["version"]


def test_evaluate_json_contract(capsys, tiny_base, store_dir, export, tmp_path) -> None:
    train(capsys, tiny_base, export, extra=("--promote",))
    plot = tmp_path / "cm.png"
    assert training_main(["evaluate", "--data", str(export), "--plot", str(plot), "--json"]) == 0
    report = last_json(capsys.readouterr().out)
    assert report["ok"] is True
    assert set(report) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels", "n"}
    assert report["n"] == 90
    assert sum(map(sum, report["confusion_matrix"])) == 90
    assert plot.read_bytes().startswith(b"\x89PNG")
    calibration = report["calibration"]
    served = json.loads((ModelStore(store_dir).path(report["model"]) / "heed.json").read_text())
    assert calibration["temperature"] == served["temperature"] and calibration["bins"] == 15
    assert 0 <= calibration["ece"] <= 1 and 0 <= calibration["ece_uncalibrated"] <= 1
    assert training_main(["evaluate", "--data", str(export)]) == 0
    assert "ECE (15 bins)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "bad.csv:1: empty file"),
        (b"text,category\nhello,a\n", "bad.csv:1: missing column 'label'"),
        (
            b"text,label\nfine,a\nfine too,a\nbad \xc3\x28 utf8,b\nok,b\n",
            "bad.csv:4: not valid UTF-8",
        ),
        (b"text,label\nx,a\ny,a\nz,b\n", "bad.csv:4: label 'b' has 1 example(s)"),
    ],
)
def test_bad_export_exits_2_and_writes_nothing(
    capsys, tiny_base, store_dir, tmp_path, content, expected
):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code = training_main(["train", "--data", str(bad), "--base", str(tiny_base), "--promote"])
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""  # no --json: people read stderr
    assert f"error: invalid training data, nothing was written:\n{tmp_path / expected}" in err
    assert not store_dir.exists() or ModelStore(store_dir).versions() == []


def test_eval_label_missing_from_training_is_refused(capsys, tiny_base, store_dir, tmp_path):
    train_file = write_csv(tmp_path / "t.csv", [("a b", "x"), ("c d", "y")] * 3)
    eval_file = write_csv(tmp_path / "e.csv", [("a b", "x"), ("q", "z")])
    code = training_main(
        [
            "train",
            "--data",
            str(train_file),
            "--eval-data",
            str(eval_file),
            "--base",
            str(tiny_base),
        ]
    )
    assert code == 2
    assert f"{eval_file}:3: eval label 'z' never appears" in capsys.readouterr().err


def test_bundled_sample_trains_on_the_shipped_export(capsys, tiny_base, store_dir) -> None:
    result = train(capsys, tiny_base, extra=("--bundled-sample", "--batch-size", "32"))
    assert sum(result["rows"].values()) == 3696
    meta = json.loads((Path(result["path"]) / "heed.json").read_text())
    assert [Path(d["path"]).name for d in meta["data"]] == ["vader_amazon.csv"]


def test_real_processes_keep_stdout_contract(tiny_base, store_dir, tmp_path) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(10))
    env = {**os.environ, "HEED_MODEL_DIR": str(store_dir)}
    cmd = [sys.executable, "-m", "training", "train", "--data", str(data), "--base", str(tiny_base)]
    done = subprocess.run(
        [*cmd, *TINY_ARGS, "--promote", "--progress", "jsonl", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = last_json(done.stdout)
    assert result["ok"] is True
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start"
    assert {"step", "epoch"} <= {e["event"] for e in events}
    assert result["promoted"]
    predicted = subprocess.run(
        [sys.executable, "-m", "classifier", "predict", "great love", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert last_json(predicted.stdout)["model"] == result["version"]


def test_mean_pooling_is_recorded_and_served(capsys, tiny_base, store_dir, export) -> None:
    from classifier import Classifier
    from classifier.pooling import MeanPooling

    result = train(capsys, tiny_base, export, extra=("--pooling", "mean"))
    meta = json.loads((Path(result["path"]) / "heed.json").read_text())
    assert meta["pooling"] == "mean" == meta["training_args"]["pooling"]
    served = Classifier.load(result["version"], store=ModelStore(store_dir), device="cpu")
    assert isinstance(served.model, MeanPooling)
    from safetensors.torch import load_file

    key = "bert.pooler.dense.weight"  # unused by mean pooling, so frozen
    before = load_file(tiny_base / "model.safetensors")[key]
    assert torch.equal(load_file(Path(result["path"]) / "model.safetensors")[key], before)


def test_task_trains_and_evaluates_in_its_own_store(capsys, tiny_base, store_dir, tmp_path):
    support = write_csv(
        tmp_path / "support.csv",
        [
            (text, {"negative": "bug", "neutral": "how-to", "positive": "billing"}[label])
            for text, label in make_rows(30)
        ],
    )
    default = train(capsys, tiny_base, support, extra=("--promote",))
    result = train(capsys, tiny_base, support, extra=("--promote", "--task", "support"))
    assert Path(result["path"]).parent == store_dir / "support"
    assert ModelStore(store_dir / "support").current() == result["version"]
    assert ModelStore(store_dir).current() == default["version"]
    assert result["version"] not in ModelStore(store_dir).versions()
    args = ["evaluate", "--data", str(support), "--task", "support", "--json"]
    assert training_main(args) == 0
    assert last_json(capsys.readouterr().out)["model"] == result["version"]
    assert training_main(["evaluate", "--data", str(support), "--task", "Bad!", "--json"]) == 64
    assert last_json(capsys.readouterr().out)["error"]["kind"] == "usage"


def test_the_human_train_line_names_the_temperature_or_why_there_is_none() -> None:
    from training.__main__ import calibration_line

    fitted = {"calibrated": True, "temperature": 1.73, "ece_before": 0.12, "ece_after": 0.03}
    assert calibration_line(fitted) == "temperature 1.73: held-out ECE 0.1200 -> 0.0300"
    skipped = {"calibrated": False, "reason": "0 held-out rows (at least 10 needed)"}
    assert calibration_line(skipped) == (
        "not calibrated: 0 held-out rows (at least 10 needed) (temperature 1)"
    )


def undocumented(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Every argument of ``parser`` and its sub-commands without ``help`` text (each
    sub-command's help is rendered too, so a stray ``%`` in a help string fails here)."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sub.format_help()
                missing += undocumented(sub, f"{prefix}{name} ")
        elif not (action.help or "").strip():
            missing.append(prefix + (action.option_strings or [action.dest])[0])
    return missing


def test_every_flag_says_what_it_does() -> None:
    parser = build_parser()
    parser.format_help()
    assert undocumented(parser) == []
