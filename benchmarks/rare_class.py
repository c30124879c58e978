"""A rare class: plain cross-entropy against class-balanced loss weights, on the same rows.

VADER Amazon reviews cut so that ``neutral`` is ``--rare-share`` (default 5 %) of the rows and
``positive``/``negative`` share the rest equally: ``--rows`` training rows (the epoch chosen on
a stratified 20 % of them, like ``run_train``) and as many unseen test rows with the same
shares. Each run is ``training.finetune.train`` with ``TrainConfig()`` defaults and only
``class_weights`` (and ``--pooling``) changed; reported: test accuracy, macro-F1, and the rare
class's recall and F1 beside them.

Each model is also scored with **per-class decision thresholds** tuned on its epoch-choice
rows: an offset per class added to the log-probabilities, chosen by coordinate ascent over a
grid to maximise macro-F1 on those held-out rows, then applied unchanged to the test rows
(``+thresholds`` in the table). Every ``--seeds`` value draws its own cut and split; the table
gives the mean over seeds.

Usage::

    python benchmarks/rare_class.py --datasets DIR --seeds 1,2,3   # CPU, ~20 min

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import replace

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    table,
    write_json,
)
from recipe_sweep import _csv

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.exports import Example, stratified_split
from classifier.model import Classifier, pick_device
from training.config import TrainConfig
from training.evaluate import score
from training.finetune import train

RARE = "neutral"
OFFSETS = [x / 4 for x in range(-12, 13)]


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


def shifted(scores: list[dict[str, float]], offsets: dict[str, float]) -> list[str]:
    """The label with the highest log-probability plus its class's offset, per row."""
    return [
        max(row, key=lambda label: math.log(max(row[label], 1e-12)) + offsets[label])
        for row in scores
    ]


def tune_offsets(scores: list[dict[str, float]], gold: list[str], labels: list[str]) -> dict:
    """Per-class log-probability offsets that maximise macro-F1 on these rows (coordinate
    ascent over :data:`OFFSETS`, three sweeps; ties keep the smaller change)."""
    offsets = dict.fromkeys(labels, 0.0)
    best = score(gold, shifted(scores, offsets), labels)["macro_f1"]
    for _ in range(3):
        for label in labels:
            for value in sorted(OFFSETS, key=abs):
                trial = {**offsets, label: value}
                f1 = score(gold, shifted(scores, trial), labels)["macro_f1"]
                if f1 > best + 1e-9:
                    best, offsets = f1, trial
    return offsets


def scored_run(name: str, gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Accuracy, macro-F1 and the rare class's recall and F1 of one variant on the test rows."""
    report = score(gold, predicted, labels)
    rare = report["per_class"][RARE]
    return {
        "variant": name,
        "test_accuracy": report["accuracy"],
        "test_macro_f1": report["macro_f1"],
        "rare_recall": rare["recall"],
        "rare_f1": rare["f1"],
        "rare_test_rows": rare["support"],
    }


def one_seed(rows: list[Example], args: argparse.Namespace, seed: int, device) -> list[dict]:
    """Both loss weightings on one seed's cut, each with and without tuned thresholds."""
    train_rows, test = imbalanced_cut(rows, args.rows, args.rare_share, random.Random(seed))
    fit, held = stratified_split(train_rows, 0.2, seed)
    runs = []
    for weights in ("none", "balanced"):
        config = replace(TrainConfig(seed=seed), class_weights=weights)
        if args.pooling:
            config = replace(config, pooling=args.pooling)
        started = time.monotonic()
        outcome = train(
            fit, held, base=resolve_base_model(base_model()), config=config, device=device
        )
        seconds = time.monotonic() - started
        classifier = Classifier(outcome.model, outcome.tokenizer, version=weights, device=device)
        labels = classifier.labels
        held_scores = [p.scores for p in classifier.predict([r.text for r in held])]
        test_scores = [p.scores for p in classifier.predict([r.text for r in test])]
        gold = [r.label for r in test]
        offsets = tune_offsets(held_scores, [r.label for r in held], labels)
        plain = shifted(test_scores, dict.fromkeys(labels, 0.0))
        for name, predicted in (
            (weights, plain),
            (f"{weights}+thresholds", shifted(test_scores, offsets)),
        ):
            run = scored_run(name, gold, predicted, labels)
            run.update(
                seed=seed,
                train_rows=len(fit),
                epoch_choice_rows=len(held),
                test_rows=len(test),
                best_epoch=outcome.best_epoch,
                train_seconds=round(seconds, 1),
                pooling=config.pooling,
            )
            if name.endswith("+thresholds"):
                run["offsets"] = offsets
            print(f"[rare_class] {run}", file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def summary(runs: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds, per variant, in first-seen order."""
    out = []
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        row: dict = {"variant": variant, "seeds": len(mine)}
        for key in ("test_accuracy", "test_macro_f1", "rare_recall", "rare_f1"):
            values = [r[key] for r in mine]
            row[key] = statistics.fmean(values)
            row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument(
        "--rows", type=int, default=600, help="training rows (and as many unseen test rows)"
    )
    p.add_argument(
        "--rare-share", type=float, default=0.05, help="the neutral class's share of the rows"
    )
    p.add_argument("--seeds", default="42", help="comma list; each seed draws its own cut")
    p.add_argument(
        "--pooling",
        choices=("cls", "mean"),
        default=None,
        help="override TrainConfig().pooling",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default: cpu)")
    p.add_argument(
        "--out", default=str(default_out("rare_class")), help="where the JSON results go"
    )
    args = p.parse_args(argv)
    args.datasets = datasets_dir(p, args.datasets, ["vader_amazon/amazon_reviews.csv"])
    set_threads(args.threads)
    device = pick_device(args.device)
    rows = _csv(args.datasets / "vader_amazon/amazon_reviews.csv", "text", "label")
    runs: list[dict] = []
    for seed in [int(x) for x in args.seeds.split(",")]:
        runs += one_seed(rows, args, seed, device)
        payload = {"hardware": hardware(), "argv": sys.argv[1:], "runs": runs}
        payload["summary"] = summary(runs)
        write_json(args.out, payload)
    headers = ["variant", "test acc", "macro-F1", f"{RARE} recall", f"{RARE} F1"]
    print(
        table(
            headers,
            [
                [
                    r["variant"],
                    f"{r['test_accuracy']:.3f} ± {r['test_accuracy_std']:.3f}",
                    f"{r['test_macro_f1']:.3f} ± {r['test_macro_f1_std']:.3f}",
                    f"{r['rare_recall']:.3f} ± {r['rare_recall_std']:.3f}",
                    f"{r['rare_f1']:.3f} ± {r['rare_f1_std']:.3f}",
                ]
                for r in summary(runs)
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
