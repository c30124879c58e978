"""Do Heed's confidences mean what they say? ECE and NLL before and after temperature scaling.

Every run fine-tunes what a user trains (``training.finetune.train`` with ``TrainConfig()``
defaults; the epoch chosen on a stratified 20 % of the training rows, as ``run_train`` does),
fits the temperature on those same held-out rows (``training.calibration``, as ``run_train``
does) and measures on test rows no step saw:

* ``sst2``: ``--sst2-rows`` (default 2,000) stratified training phrases; GLUE dev (872);
* ``banking77``: ``--banking-per-intent`` (default 20) examples of each of the 77 intents;
  the test set (3,080);
* ``vader``: ``--vader-rows`` (default 1,000) VADER Amazon reviews; the next 1,000 as test.

Reported per task: the fitted T, test accuracy (the same before and after: T never changes a
label), test ECE (15 equal-width bins) and NLL before (T = 1) and after, and the ECE on the
held-out rows the fit saw (what a version's ``heed.json`` reports).

Usage::

    python benchmarks/calibration.py --datasets DIR --threads 1   # CPU, ~30 min on 2 cores

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import _common  # noqa: F401  (sys.path, env defaults)
import torch
from _common import (
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    table,
    write_json,
)
from heads import rows_for

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.device import pick_device
from classifier.exports import Example, stratified_split
from classifier.model import Classifier
from training.calibration import calibration_report, expected_calibration_error, nll
from training.config import TrainConfig
from training.finetune import train

TASKS = ("sst2", "banking77", "vader")


def logits_and_gold(classifier: Classifier, rows: Sequence[Example]):
    """The uncalibrated logits of ``rows`` and each row's label index."""
    return classifier.logits([r.text for r in rows]), [
        classifier.labels.index(r.label) for r in rows
    ]


def run_task(task: str, args: argparse.Namespace, base: str, device) -> dict:
    """Fine-tune, fit T on the held-out rows, measure the test rows before and after."""
    rows, test = rows_for(task, args)
    fit, held = stratified_split(rows, 0.2, args.seed)
    started = time.monotonic()
    outcome = train(fit, held, base=base, config=TrainConfig(seed=args.seed), device=device)
    seconds = time.monotonic() - started
    classifier = Classifier(outcome.model, outcome.tokenizer, version=task, device=device)
    held_logits, held_gold = logits_and_gold(classifier, held)
    fitted = calibration_report(held_logits, held_gold)
    t = fitted["temperature"]
    test = [r for r in test if r.label in classifier.labels]
    logits, gold = logits_and_gold(classifier, test)
    accuracy = float((logits.argmax(-1) == torch.tensor(gold)).double().mean())
    return {
        "task": task,
        "train_rows": len(fit),
        "held_out_rows": len(held),
        "test_rows": len(test),
        "best_epoch": outcome.best_epoch,
        "temperature": t,
        "calibrated": fitted["calibrated"],
        "reason": fitted["reason"],
        "test_accuracy": accuracy,
        "test_ece_before": expected_calibration_error(logits, gold),
        "test_ece_after": expected_calibration_error(logits, gold, t),
        "test_nll_before": nll(logits, gold),
        "test_nll_after": nll(logits, gold, t),
        "held_out_ece_before": fitted["ece_before"],
        "held_out_ece_after": fitted["ece_after"],
        "train_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument("--tasks", default=",".join(TASKS), help="comma list of " + ",".join(TASKS))
    p.add_argument("--sst2-rows", type=int, default=2000, help="sst2: stratified training rows")
    p.add_argument(
        "--banking-per-intent",
        dest="banking77_per_class",
        type=int,
        default=20,
        help="banking77: training rows per intent",
    )
    p.add_argument(
        "--vader-rows", type=int, default=1000, help="vader: training rows (the next as many: test)"
    )
    p.add_argument("--seed", type=int, default=42, help="the cuts, the split and the training")
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default: cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (1 on a shared host)")
    p.add_argument(
        "--out", default=str(default_out("calibration")), help="where the JSON results go"
    )
    args = p.parse_args(argv)
    args.datasets = datasets_dir(
        p,
        args.datasets,
        ["sst2/train.tsv", "sst2/dev.tsv", "banking77/train.csv", "banking77/test.csv"],
    )
    set_threads(args.threads)
    device = pick_device(args.device)
    base = resolve_base_model(base_model())
    runs = []
    for task in args.tasks.split(","):
        run = run_task(task, args, base, device)
        print(f"[calibration] {run}", file=sys.stderr, flush=True)
        runs.append(run)
        write_json(args.out, {"hardware": hardware(), "argv": sys.argv[1:], "runs": runs})
    print(
        table(
            [
                "task",
                "train / held-out / test",
                "T",
                "test acc",
                "ECE before → after",
                "NLL before → after",
                "train s",
            ],
            [
                [
                    r["task"],
                    f"{r['train_rows']} / {r['held_out_rows']} / {r['test_rows']}",
                    f"{r['temperature']:.2f}",
                    f"{r['test_accuracy']:.4f}",
                    f"{r['test_ece_before']:.4f} → {r['test_ece_after']:.4f}",
                    f"{r['test_nll_before']:.4f} → {r['test_nll_after']:.4f}",
                    r["train_seconds"],
                ]
                for r in runs
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
