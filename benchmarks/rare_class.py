"""A rare class: plain cross-entropy against class-balanced loss weights, on the same rows.

VADER Amazon reviews cut so that ``neutral`` is ``--rare-share`` (default 5 %) of the rows and
``positive``/``negative`` share the rest equally: ``--rows`` training rows (the epoch chosen on
a stratified 20 % of them, like ``run_train``) and as many unseen test rows with the same
shares. Each run is ``training.finetune.train`` with ``TrainConfig()`` defaults and only
``class_weights`` changed; reported: test accuracy, macro-F1, and the rare class's recall and
F1 beside them.

Usage::

    python benchmarks/rare_class.py --datasets DIR           # CPU, a few minutes

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace

import _common  # noqa: F401  (sys.path, env defaults)
from _common import add_datasets_option, datasets_dir, default_out, hardware, table, write_json
from recipe_sweep import _csv

from classifier.base_model import resolve_base_model
from classifier.model import Classifier, pick_device
from training.data import Example, stratified_split
from training.evaluate import evaluate
from training.finetune import TrainConfig, train

RARE = "neutral"


def imbalanced_cut(
    rows: list[Example], n: int, share: float, rng: random.Random
) -> tuple[list[Example], list[Example]]:
    """``n`` training and ``n`` test rows, ``share`` of each from the rare class."""
    by_label: dict[str, list[Example]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    for group in by_label.values():
        rng.shuffle(group)
    rare = round(n * share)
    common = sorted(label for label in by_label if label != RARE)
    each = (n - rare) // len(common)
    wanted = {RARE: rare, **dict.fromkeys(common, each)}
    train_rows = [r for label, k in wanted.items() for r in by_label[label][:k]]
    test_rows = [r for label, k in wanted.items() for r in by_label[label][k : 2 * k]]
    return train_rows, test_rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument("--rows", type=int, default=600)
    p.add_argument("--rare-share", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=str(default_out("rare_class")))
    args = p.parse_args(argv)
    args.datasets = datasets_dir(p, args.datasets, ["vader_amazon/amazon_reviews.csv"])
    device = pick_device(args.device)
    rows = _csv(args.datasets / "vader_amazon/amazon_reviews.csv", "text", "label")
    train_rows, test = imbalanced_cut(rows, args.rows, args.rare_share, random.Random(args.seed))
    fit, held = stratified_split(train_rows, 0.2, args.seed)
    runs = []
    for weights in ("none", "balanced"):
        config = replace(TrainConfig(seed=args.seed), class_weights=weights)
        started = time.monotonic()
        outcome = train(fit, held, base=resolve_base_model(None), config=config, device=device)
        seconds = time.monotonic() - started
        classifier = Classifier(outcome.model, outcome.tokenizer, version=weights, device=device)
        report = evaluate(classifier, test)
        rare = report["per_class"][RARE]
        run = {
            "class_weights": weights,
            "train_rows": len(fit),
            "epoch_choice_rows": len(held),
            "test_rows": len(test),
            "rare_test_rows": rare["support"],
            "test_accuracy": report["accuracy"],
            "test_macro_f1": report["macro_f1"],
            "rare_recall": rare["recall"],
            "rare_f1": rare["f1"],
            "best_epoch": outcome.best_epoch,
            "train_seconds": round(seconds, 1),
        }
        print(f"[rare_class] {run}", file=sys.stderr, flush=True)
        runs.append(run)
        write_json(args.out, {"hardware": hardware(), "argv": sys.argv[1:], "runs": runs})
    headers = ["class weights", "test acc", "macro-F1", f"{RARE} recall", f"{RARE} F1", "train s"]
    print(
        table(
            headers,
            [
                [
                    r["class_weights"],
                    f"{r['test_accuracy']:.4f}",
                    f"{r['test_macro_f1']:.4f}",
                    f"{r['rare_recall']:.3f}",
                    f"{r['rare_f1']:.3f}",
                    r["train_seconds"],
                ]
                for r in runs
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
