"""Accuracy of Heed's default fine-tuning recipe on public benchmarks, against published numbers.

Every model here is trained by the project's own code path, ``training.finetune.train`` with
``TrainConfig()`` defaults (only ``--epochs``/``--seed``/``--lr``/``--pooling`` may override),
and scored by ``training.evaluate.evaluate`` (``Classifier.predict``). Like ``python -m
training train`` without ``--eval-data``, the epoch kept is chosen on rows held out of the
*training* data, so the reported test/dev numbers never took part in any choice:

* ``sst2``: train on ``sst2/train.tsv`` (all 67,349 rows, or a stratified seeded ``--limit``
  subset; ``--curve 1000,4000,16000`` runs one fine-tune per size), epoch selection on 872
  rows held out of train, accuracy on the GLUE dev set ``sst2/dev.tsv``. Published dev
  accuracy: MiniLM-L6-H384 91.5, DistilBERT 91.3, bert-base 92.7.
* ``banking77``: train on ``banking77/train.csv`` (label column ``category``), 770 rows (10 per
  intent on average) held out of train for epoch selection, accuracy on ``test.csv``
  (3,080 rows). Published: bert-base 93.1, DistilBERT 92.5.
* ``vader``: VADER Amazon (3 classes), 5-fold stratified cross-validation; in each fold the
  training part is split like ``run_train`` does (stratified 20 %, ``EVAL_FRACTION``) for
  epoch selection and the fold's test part is scored. Reports accuracy and macro-F1 mean ± std.
* ``few-shot``: 8 and 16 rows per label (``--few-shot-sizes``) of banking77 (``--intents``
  intents drawn by the seed) and VADER; Heed's standard and few-shot recipes side by side with
  SetFit, frozen MiniLM embeddings + logistic regression and TF-IDF + logistic regression, on
  the same rows and test rows (``benchmarks/few_shot.py``; needs the ``bench`` extra).

Models live in a temporary ``HEED_MODEL_DIR`` (never ``./models``); ``--save-model DIR`` keeps
the last SST-2 model (e.g. for ``faithfulness.py --model DIR``).

Usage::

    python benchmarks/accuracy.py --datasets DIR --tasks sst2 --curve 1000,4000  # CPU curve
    python benchmarks/accuracy.py --datasets DIR --tasks banking77 --limit 3000
    python benchmarks/accuracy.py --datasets DIR --device cuda           # full runs on a GPU
    python benchmarks/accuracy.py --datasets DIR --tasks few-shot --threads 1  # ~30 min, CPU

``--datasets DIR`` (or ``$HEED_DATASETS``) is required: the folder described in
benchmarks/README.md, "Datasets".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    DATASET_FILES,
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    stratified_subsample,
    table,
    temp_model_store,
    write_json,
)
from few_shot import METHODS, few_shot, few_shot_rows

PUBLISHED = {
    "sst2": {"MiniLM-L6-H384": 91.5, "DistilBERT": 91.3, "bert-base": 92.7},
    "banking77": {"bert-base": 93.1, "DistilBERT": 92.5},
}
SST2_HOLDOUT = 872
BANKING_HOLDOUT = 770
TASKS = ("sst2", "banking77", "vader", "few-shot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="Fine-tune the default recipe on SST-2, banking77 and VADER Amazon; "
        "report accuracy against published numbers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_datasets_option(p)
    p.add_argument(
        "--tasks", default="sst2,banking77,vader", help="comma list of " + ",".join(TASKS)
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train rows for sst2 (without --curve) and banking77",
    )
    p.add_argument(
        "--banking77-limit", type=int, default=None, help="overrides --limit for banking77"
    )
    p.add_argument("--curve", default=None, help="SST-2 learning curve: comma list of train sizes")
    p.add_argument(
        "--vader-folds", type=int, default=5, help="VADER: cross-validation folds (stratified)"
    )
    p.add_argument("--few-shot-sizes", default="8,16", help="few-shot: rows per label")
    p.add_argument("--few-shot-cuts", default="banking77,vader", help="few-shot: datasets")
    p.add_argument("--intents", type=int, default=10, help="few-shot: banking77 intents")
    p.add_argument("--test-rows", type=int, default=800, help="few-shot: VADER test rows")
    p.add_argument("--methods", default=",".join(METHODS), help="few-shot: methods")
    p.add_argument("--few-shot-lr", type=float, default=None, help="override FewShotSchedule")
    p.add_argument("--few-shot-epochs", type=int, default=None, help="override FewShotSchedule")
    p.add_argument("--few-shot-min-steps", type=int, default=None, help="FewShotSchedule")
    p.add_argument(
        "--contrastive-weight", type=float, default=None, help="override FewShotSchedule"
    )
    p.add_argument("--setfit-iterations", type=int, default=20, help="few-shot: SetFit pairs")
    p.add_argument("--refit-head", choices=("yes", "no"), default=None, help="FewShotSchedule")
    p.add_argument("--head-c", type=float, default=None, help="override FewShotSchedule")
    p.add_argument(
        "--few-shot-train-layers",
        type=int,
        default=None,
        help="override FewShotSchedule: train only the top N encoder layers",
    )
    p.add_argument("--epochs", type=int, default=None, help="override TrainConfig().epochs")
    p.add_argument("--seed", type=int, default=None, help="override TrainConfig().seed")
    p.add_argument("--lr", type=float, default=None, help="override TrainConfig().lr")
    p.add_argument(
        "--pooling",
        choices=("auto", "cls", "mean"),
        default=None,
        help="override TrainConfig().pooling",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    p.add_argument("--save-model", default=None, help="save the last SST-2 model to this directory")
    p.add_argument("--out", default=str(default_out("accuracy")), help="JSON results file")
    args = p.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    bad = sorted(set(args.tasks) - set(TASKS))
    if bad:
        p.error(f"unknown task(s) {bad}: use {TASKS}")
    files = {**DATASET_FILES, "few-shot": DATASET_FILES["banking77"] + DATASET_FILES["vader"]}
    args.datasets = datasets_dir(p, args.datasets, [f for t in args.tasks for f in files[t]])
    args.few_shot_sizes = [int(x) for x in args.few_shot_sizes.split(",")]
    args.few_shot_cuts = [c for c in args.few_shot_cuts.split(",") if c]
    args.methods = [m for m in args.methods.split(",") if m]
    if set(args.few_shot_cuts) - {"banking77", "vader"} or set(args.methods) - set(METHODS):
        p.error(f"--few-shot-cuts: banking77,vader; --methods: {','.join(METHODS)}")
    args.curve = [int(x) for x in args.curve.split(",")] if args.curve else None
    return args


def fine_tune(train_rows, select_rows, config, device):
    """The project's loop; returns the TrainOutcome and a Classifier over its best model."""
    from classifier import Classifier
    from classifier.base_model import resolve_base_model
    from classifier.cli_support import base_model
    from training.finetune import train
    from training.progress import Progress

    outcome = train(
        train_rows,
        select_rows,
        base=resolve_base_model(base_model()),
        config=config,
        device=device,
        progress=Progress(stream=sys.stderr),
    )
    classifier = Classifier(
        outcome.model,
        outcome.tokenizer,
        version="benchmark",
        device=device,
        max_length=config.max_length,
    )
    return outcome, classifier


def scored(classifier, rows) -> tuple[dict, float]:
    from training.evaluate import evaluate

    start = time.perf_counter()
    metrics = evaluate(classifier, rows)
    return metrics, time.perf_counter() - start


def run_one(
    name, train_rows, select_rows, test_rows, config, device, published=None
) -> tuple[dict, object]:
    outcome, classifier = fine_tune(train_rows, select_rows, config, device)
    metrics, eval_seconds = scored(classifier, test_rows)
    acc = 100 * metrics["accuracy"]
    result = {
        "task": name,
        "train_rows": len(train_rows),
        "selection_rows": len(select_rows),
        "test_rows": len(test_rows),
        "accuracy": acc,
        "macro_f1": 100 * metrics["macro_f1"],
        "best_epoch": outcome.best_epoch,
        "epochs": config.epochs,
        "history_on_selection_rows": outcome.history,
        "train_seconds": round(outcome.seconds, 2),
        "train_samples_per_s": round(len(train_rows) * config.epochs / outcome.seconds, 1),
        "test_eval_seconds": round(eval_seconds, 2),
        "device": outcome.device,
    }
    if published:
        result["published"] = published
        result["gap_points"] = {k: round(acc - v, 2) for k, v in published.items()}
    print(
        f"[accuracy] {name}: n_train={len(train_rows)} acc={acc:.2f} "
        f"macro-F1={result['macro_f1']:.2f} best_epoch={outcome.best_epoch} "
        f"train {outcome.seconds:.0f}s",
        file=sys.stderr,
        flush=True,
    )
    return result, outcome


def sst2(args, data: Path, config, device, results: list, save) -> None:
    from classifier.exports import read_export

    train_all = read_export(data / "sst2" / "train.tsv")
    dev = read_export(data / "sst2" / "dev.tsv")
    holdout = stratified_subsample(train_all, SST2_HOLDOUT, config.seed)
    held = {id(r) for r in holdout}
    pool = [r for r in train_all if id(r) not in held]
    sizes = args.curve or [args.limit or len(pool)]
    for n in sizes:
        rows = stratified_subsample(pool, min(n, len(pool)), config.seed)
        result, outcome = run_one("sst2", rows, holdout, dev, config, device, PUBLISHED["sst2"])
        result["subset"] = (
            "full train minus holdout"
            if n >= len(pool)
            else f"stratified {len(rows)} (seed {config.seed})"
        )
        results.append(result)
        save()
        if args.save_model:
            out = Path(args.save_model)
            out.mkdir(parents=True, exist_ok=True)
            outcome.model.save_pretrained(out)
            outcome.tokenizer.save_pretrained(out)
            print(f"[accuracy] saved SST-2 model (n={len(rows)}) to {out}", file=sys.stderr)
        del outcome


def banking77(args, data: Path, config, device, results: list, save) -> None:
    from classifier.exports import read_export

    train_all = read_export(data / "banking77" / "train.csv", label_column="category")
    test = read_export(data / "banking77" / "test.csv", label_column="category")
    holdout = stratified_subsample(train_all, BANKING_HOLDOUT, config.seed)
    held = {id(r) for r in holdout}
    pool = [r for r in train_all if id(r) not in held]
    limit = args.banking77_limit or args.limit
    rows = stratified_subsample(pool, min(limit or len(pool), len(pool)), config.seed)
    result, _ = run_one("banking77", rows, holdout, test, config, device, PUBLISHED["banking77"])
    result["subset"] = (
        "full train minus holdout"
        if len(rows) == len(pool)
        else f"stratified {len(rows)} (seed {config.seed})"
    )
    results.append(result)
    save()


def vader(args, data: Path, config, device, results: list, save) -> None:
    from sklearn.model_selection import StratifiedKFold

    from classifier.exports import EVAL_FRACTION, read_export, stratified_split

    rows = read_export(data / "vader_amazon" / "amazon_reviews.csv")
    folds = StratifiedKFold(n_splits=args.vader_folds, shuffle=True, random_state=config.seed)
    per_fold = []
    for k, (train_idx, test_idx) in enumerate(folds.split(rows, [r.label for r in rows]), 1):
        train_rows, select_rows = stratified_split(
            [rows[i] for i in train_idx], EVAL_FRACTION, config.seed
        )
        result, _ = run_one(
            f"vader fold {k}", train_rows, select_rows, [rows[i] for i in test_idx], config, device
        )
        per_fold.append(result)
    accs = [r["accuracy"] for r in per_fold]
    f1s = [r["macro_f1"] for r in per_fold]
    results.append(
        {
            "task": "vader",
            "rows": len(rows),
            "folds": args.vader_folds,
            "accuracy_mean": statistics.fmean(accs),
            "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "macro_f1_mean": statistics.fmean(f1s),
            "macro_f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
            "train_seconds_total": round(sum(r["train_seconds"] for r in per_fold), 1),
            "train_rows_per_fold": per_fold[0]["train_rows"],
            "per_fold": per_fold,
        }
    )
    save()


def summary_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        if r["task"] == "vader":
            rows.append(
                [
                    f"VADER Amazon {r['folds']}-fold CV",
                    r["train_rows_per_fold"],
                    f"acc {r['accuracy_mean']:.2f} ± {r['accuracy_std']:.2f} · "
                    f"macro-F1 {r['macro_f1_mean']:.2f} ± {r['macro_f1_std']:.2f}",
                    "—",
                    "—",
                    f"{r['train_seconds_total']:.0f} (all folds)",
                ]
            )
            continue
        pub = r.get("published", {})
        best_name = max(pub, key=pub.get) if pub else None
        gaps = ", ".join(f"{k} {v:+.1f}" for k, v in r.get("gap_points", {}).items())
        label = "SST-2 (GLUE dev)" if r["task"] == "sst2" else "banking77 (test)"
        rows.append(
            [
                label,
                r["train_rows"],
                f"acc {r['accuracy']:.2f} (macro-F1 {r['macro_f1']:.2f}, "
                f"epoch {r['best_epoch']}/{r['epochs']})",
                f"{best_name} {pub[best_name]}" if best_name else "—",
                gaps or "—",
                f"{r['train_seconds']:.0f}",
            ]
        )
    return table(
        ["task", "train rows", "result (%)", "published best", "gap (points)", "train s"], rows
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from classifier.device import pick_device
    from training.config import TrainConfig

    set_threads(args.threads)
    data = args.datasets
    device = pick_device(args.device)
    config = TrainConfig()
    if args.epochs:
        config = replace(config, epochs=args.epochs)
    if args.seed is not None:
        config = replace(config, seed=args.seed)
    if args.lr is not None:
        config = replace(config, lr=args.lr)
    if args.pooling is not None:
        config = replace(config, pooling=args.pooling)
    results: list[dict] = []
    payload = {
        "benchmark": "accuracy",
        "hardware": hardware(),
        "device": str(device),
        "datasets": str(data),
        "config": config.__dict__,
        "published": PUBLISHED,
        "selection": "epoch chosen on rows held out of the training data (never dev/test)",
        "results": results,
    }

    def save() -> None:
        payload["hardware"]["torch_threads"] = torch.get_num_threads()
        write_json(args.out, payload)

    started = time.perf_counter()
    with temp_model_store():
        for task in args.tasks:
            {"sst2": sst2, "banking77": banking77, "vader": vader, "few-shot": few_shot}[task](
                args, data, config, device, results, save
            )
    payload["total_seconds"] = round(time.perf_counter() - started, 1)
    payload["table"] = summary_table([r for r in results if r["task"] != "few-shot"])
    if any(r["task"] == "few-shot" for r in results):
        payload["few_shot_table"] = table(
            ["cut", "per label (rows; test)", "method", "acc %", "macro-F1 %", "train s"],
            few_shot_rows(results),
        )
        print(payload["few_shot_table"])
    save()
    print(f"wrote {args.out}")
    print(payload["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
