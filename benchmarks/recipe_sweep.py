"""Pick the default fine-tuning recipe for the bundled 6-layer model by measurement.

For each (learning rate, epochs, batch size) it runs exactly what a user runs —
``train --data X`` (stratified 20 % split for best-epoch selection) through the project's own
``training.finetune.train`` — and scores the chosen epoch on rows the run never saw:

- ``topic5``: 5 banking77 intents not used by the test fixtures, 80 train rows each, scored on
  the official test rows of those intents (the shape of "an unseen 5-class topic export");
- ``vader``: 1,000 VADER Amazon snippets, scored on 1,000 others (3-class sentiment);
- ``banking77``: 2,000 random banking77 train rows (77 intents), scored on 800 test rows;
- ``sst2``: 1,000 SST-2 train phrases, scored on the GLUE dev set.

Usage: ``python benchmarks/recipe_sweep.py --datasets DIR [--lrs 5e-5,1e-4,2e-4]
[--epochs 3,4] [--batch-sizes 16] [--tasks topic5,vader] [--device cpu]``; ``--datasets DIR``
(or ``$HEED_DATASETS``) is required: the folder described in benchmarks/README.md, "Datasets".
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    DATASET_FILES,
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    table,
    write_json,
)

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.cli_support import device as env_device
from classifier.device import pick_device
from classifier.exports import Example, stratified_split
from classifier.model import Classifier
from training.config import TrainConfig
from training.evaluate import evaluate
from training.finetune import train

TOPIC_INTENTS = (
    "card_payment_wrong_exchange_rate",
    "cash_withdrawal_charge",
    "change_pin",
    "declined_transfer",
    "why_verify_identity",
)


def _csv(path: Path, text: str, label: str) -> list[Example]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            Example(r[text], r[label], f"{path}:{i}")
            for i, r in enumerate(csv.DictReader(handle), 2)
        ]


def load_task(name: str, datasets: Path, seed: int) -> tuple[list[Example], list[Example]]:
    """``(train_export, unseen_test)`` for one task."""
    rng = random.Random(seed)
    if name == "topic5":
        rows = [
            e
            for e in _csv(datasets / "banking77/train.csv", "text", "category")
            if e.label in TOPIC_INTENTS
        ]
        test = [
            e
            for e in _csv(datasets / "banking77/test.csv", "text", "category")
            if e.label in TOPIC_INTENTS
        ]
        by_label = {label: [e for e in rows if e.label == label] for label in TOPIC_INTENTS}
        picked = [e for label in TOPIC_INTENTS for e in rng.sample(by_label[label], 80)]
        return picked, test
    if name == "banking77":
        rows = _csv(datasets / "banking77/train.csv", "text", "category")
        test = _csv(datasets / "banking77/test.csv", "text", "category")
        rng.shuffle(rows)
        rng.shuffle(test)
        return rows[:2000], test[:800]
    if name == "vader":
        rows = _csv(datasets / "vader_amazon/amazon_reviews.csv", "text", "label")
        rng.shuffle(rows)
        return rows[:1000], rows[1000:2000]
    if name == "sst2":

        def tsv(path: Path) -> list[Example]:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                return [
                    Example(r["text"], r["label"], f"{path}:{i}") for i, r in enumerate(reader, 2)
                ]

        rows = tsv(datasets / "sst2/train.tsv")
        return rng.sample(rows, 1000), tsv(datasets / "sst2/dev.tsv")
    raise SystemExit(f"unknown task {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    add_datasets_option(parser)
    parser.add_argument(
        "--tasks", default="topic5,vader", help="comma list: topic5, vader, banking77, sst2"
    )
    parser.add_argument("--lrs", default="5e-5,1e-4,2e-4", help="comma list of learning rates")
    parser.add_argument("--epochs", default="3,4", help="comma list of epoch counts")
    parser.add_argument("--batch-sizes", default="16", help="comma list of batch sizes")
    parser.add_argument(
        "--head-lr-scales", default="1", help="comma list of head learning-rate multipliers"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="the rows drawn, the split and the training"
    )
    parser.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    parser.add_argument(
        "--out", type=Path, default=default_out("recipe_sweep"), help="where the JSON results go"
    )
    parser.add_argument("--append", action="store_true", help="keep the runs already in --out")
    args = parser.parse_args()
    files = {"topic5": "banking77", "banking77": "banking77", "vader": "vader", "sst2": "sst2"}
    tasks = [t for t in args.tasks.split(",") if t]
    bad = sorted(set(tasks) - set(files))
    if bad:
        parser.error(f"unknown task(s) {bad}: use {', '.join(files)}")
    datasets = datasets_dir(
        parser, args.datasets, [f for t in tasks for f in DATASET_FILES[files[t]]]
    )
    device = pick_device(args.device or env_device())
    base = resolve_base_model(base_model())
    runs = json.loads(args.out.read_text())["runs"] if args.append and args.out.is_file() else []
    grid = list(
        itertools.product(
            [float(x) for x in args.lrs.split(",")],
            [int(x) for x in args.epochs.split(",")],
            [int(x) for x in args.batch_sizes.split(",")],
            [float(x) for x in args.head_lr_scales.split(",")],
        )
    )
    for task in tasks:
        export, test = load_task(task, datasets, args.seed)
        train_rows, eval_rows = stratified_split(export, 0.2, args.seed)
        for lr, epochs, batch_size, head_lr_scale in grid:
            config = TrainConfig(
                lr=lr,
                epochs=epochs,
                batch_size=batch_size,
                seed=args.seed,
                head_lr_scale=head_lr_scale,
            )
            outcome = train(train_rows, eval_rows, base=base, config=config, device=device)
            scored = evaluate(
                Classifier(outcome.model, outcome.tokenizer, version="sweep", device=device),
                test,
            )
            runs.append(
                {
                    "task": task,
                    "lr": lr,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "head_lr_scale": head_lr_scale,
                    "train_rows": len(train_rows),
                    "test_rows": len(test),
                    "best_epoch": outcome.best_epoch,
                    "test_accuracy": scored["accuracy"],
                    "test_macro_f1": scored["macro_f1"],
                    "train_seconds": outcome.seconds,
                }
            )
            write_json(args.out, {"hardware": hardware(), "runs": runs})
    print(
        table(
            [
                "task",
                "lr",
                "epochs",
                "batch",
                "head lr x",
                "best epoch",
                "test acc",
                "test macro-F1",
                "train s",
            ],
            [
                [
                    r["task"],
                    r["lr"],
                    r["epochs"],
                    r["batch_size"],
                    r.get("head_lr_scale", 1.0),
                    r["best_epoch"],
                    r["test_accuracy"],
                    r["test_macro_f1"],
                    r["train_seconds"],
                ]
                for r in runs
            ],
        )
    )


if __name__ == "__main__":
    main()
