"""Suspected label errors: flip 10 % of the labels at random, then see how many of the flipped
rows ``python -m training suspects`` ranks in its top N (N = rows flipped).

Cuts (seeded): ``sst2``: ``--sst2-rows`` (2,000) stratified rows of ``sst2/train.tsv``;
``banking77``: ``--banking-per-intent`` (20) rows of each of the 77 intents of
``banking77/train.csv``; ``vader``: ``--vader-rows`` (1,000) stratified rows of VADER Amazon.
Each flipped row gets another label drawn uniformly. The cut is written as a CSV export and read
back as the CLI reads it, so ``file:line`` is what the CLI would print.

Rankings compared on the same out-of-fold probabilities (one set of fold fits per task and
seed, :func:`training.suspects.out_of_fold_probabilities`, the CLI's folds and schedule):

* ``heed``: :func:`training.suspects.rank_suspects` (what the CLI lists);
* ``cleanlab``: ``cleanlab.filter.find_label_issues(labels, pred_probs,
  return_indices_ranked_by="self_confidence")`` with its defaults otherwise (a benchmark
  extra, never a Heed dependency: ``pip install --target DIR cleanlab==2.9.0`` and put DIR on
  ``PYTHONPATH``; skipped when it is not importable);
* ``random``: N rows drawn at random (seeded).

Precision = flipped rows among the top N listed / rows listed (at most N); recall = flipped
rows among the top N / N. Wall time: the K fold fits and the ranking, per 1,000 rows, at
``--threads`` torch threads (2 by default: the target is 2 cores).

``python benchmarks/suspects.py --datasets DIR [--tasks sst2 banking77 vader] [--seeds 1 2 3]``
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _common import add_datasets_option, datasets_dir, default_out, hardware, table, write_json

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.exports import Example, read_export
from training.config import TrainConfig
from training.progress import Silent
from training.suspects import (
    DEFAULT_FOLDS,
    SuspectsSchedule,
    out_of_fold_probabilities,
    rank_suspects,
)

FILES = {
    "sst2": ("sst2/train.tsv", "\t", "label"),
    "banking77": ("banking77/train.csv", ",", "category"),
    "vader": ("vader_amazon/amazon_reviews.csv", ",", "label"),
}
NOISE = 0.10


def read_pairs(root: Path, task: str) -> list[tuple[str, str]]:
    """``(text, label)`` of a dataset file."""
    name, delimiter, label = FILES[task]
    with open(root / name, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(
            handle,
            delimiter=delimiter,
            quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL,
        )
        return [(r["text"].strip(), r[label].strip()) for r in reader if r["text"].strip()]


def cut(pairs: list[tuple[str, str]], task: str, args: argparse.Namespace, seed: int):
    """The task's rows for ``seed``: stratified ``n`` rows, or ``n`` per label (banking77)."""
    rng = random.Random(seed)
    by_label: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        by_label.setdefault(pair[1], []).append(pair)
    if task == "banking77":
        rows = [
            p
            for label in sorted(by_label)
            for p in rng.sample(by_label[label], args.banking_per_intent)
        ]
    else:
        n = args.sst2_rows if task == "sst2" else args.vader_rows
        rows = []
        for label in sorted(by_label):
            share = round(n * len(by_label[label]) / len(pairs))
            rows += rng.sample(by_label[label], share)
    rng.shuffle(rows)
    return rows


def flip(rows: list[tuple[str, str]], seed: int) -> tuple[list[tuple[str, str]], set[int]]:
    """``rows`` with ``NOISE`` of them relabelled at random (another label, uniformly); the
    indices flipped."""
    rng = random.Random(seed + 1000)
    labels = sorted({label for _, label in rows})
    flipped = set(rng.sample(range(len(rows)), round(NOISE * len(rows))))
    noisy = [
        (text, rng.choice([x for x in labels if x != label])) if i in flipped else (text, label)
        for i, (text, label) in enumerate(rows)
    ]
    return noisy, flipped


def scores(ranked: list[int], flipped: set[int], n: int) -> dict:
    """Precision and recall of the first ``n`` of ``ranked`` against ``flipped``."""
    top = ranked[:n]
    hits = len(set(top) & flipped)
    return {
        "listed": len(ranked),
        "precision": hits / len(top) if top else 0.0,
        "recall": hits / n,
    }


def cleanlab_ranking(given: list[int], probs) -> list[int] | None:
    """cleanlab's ranked label issues, or None when cleanlab is not installed."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    import numpy as np

    found = find_label_issues(
        np.asarray(given), probs.numpy(), return_indices_ranked_by="self_confidence"
    )
    return [int(i) for i in found]


def run_one(
    task: str, seed: int, args: argparse.Namespace, pairs, base: str, workdir: Path
) -> dict:
    rows, flipped = flip(cut(pairs, task, args, seed), seed)
    export = workdir / f"{task}-{seed}.csv"
    with open(export, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    examples: list[Example] = read_export(export)
    line_of = {int(e.source.rpartition(":")[2]): i for i, e in enumerate(examples)}
    assert len(examples) == len(rows)
    started, cpu_started = time.monotonic(), time.process_time()
    labels, probs = out_of_fold_probabilities(
        examples,
        folds=args.folds,
        base=base,
        config=TrainConfig(seed=seed),
        device=torch.device("cpu"),
        progress=Silent(),
        schedule=SuspectsSchedule(args.standard_epochs, args.few_shot_epochs),
    )
    if args.save_probs:  # to study other rankings on the same fits without refitting
        args.save_probs.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "labels": labels,
                "given": [e.label for e in examples],
                "flipped": sorted(flipped),
                "probs": probs,
            },
            args.save_probs / f"{task}-{seed}.pt",
        )
    heed = [line_of[s.line] for s in rank_suspects(examples, labels, probs)]
    seconds = time.monotonic() - started
    cpu_seconds = time.process_time() - cpu_started
    n = len(flipped)
    given = [labels.index(e.label) for e in examples]
    accuracy = sum(
        int(probs[i].argmax()) == given[i] for i in range(len(given)) if i not in flipped
    )
    result = {
        "task": task,
        "seed": seed,
        "rows": len(rows),
        "labels": len(labels),
        "flipped": n,
        "seconds": round(seconds, 1),
        "seconds_per_1000_rows": round(seconds * 1000 / len(rows), 1),
        # CPU seconds of this process: on a shared host, a dedicated 2-core machine's wall
        # time is about this divided by the threads (when the threads keep both cores busy).
        "cpu_seconds_per_1000_rows": round(cpu_seconds * 1000 / len(rows), 1),
        "oof_accuracy_on_clean_rows": round(accuracy / (len(rows) - n), 4),
        "heed": scores(heed, flipped, n),
        "random": scores(random.Random(seed).sample(range(len(rows)), n), flipped, n),
    }
    ranked = cleanlab_ranking(given, probs)
    if ranked is not None:
        result["cleanlab"] = scores(ranked, flipped, n)
    return result


def summary(results: list[dict]) -> str:
    lines = []
    for task in dict.fromkeys(r["task"] for r in results):
        mine = [r for r in results if r["task"] == task]
        row = [task, len(mine), mine[0]["rows"], mine[0]["flipped"]]
        for method in ("heed", "cleanlab", "random"):
            have = [r[method] for r in mine if method in r]
            row += [
                statistics.median(h["precision"] for h in have) if have else "-",
                statistics.median(h["recall"] for h in have) if have else "-",
            ]
        row.append(statistics.median(r["seconds_per_1000_rows"] for r in mine))
        lines.append(row)
    headers = ["task", "seeds", "rows", "N", "heed P", "heed R", "cleanlab P", "cleanlab R"]
    headers += ["random P", "random R", "s / 1k rows"]
    return table(headers, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    add_datasets_option(parser)
    parser.add_argument(
        "--tasks", nargs="+", choices=list(FILES), default=list(FILES), help="datasets to cut"
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[1, 2, 3], help="one cut, flip and fit each"
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="the CLI's --folds")
    parser.add_argument("--sst2-rows", type=int, default=2000, help="stratified SST-2 rows")
    parser.add_argument(
        "--banking-per-intent", type=int, default=20, help="banking77 rows of each intent"
    )
    parser.add_argument("--vader-rows", type=int, default=1000, help="stratified VADER rows")
    defaults = SuspectsSchedule()
    parser.add_argument(
        "--standard-epochs",
        type=int,
        default=defaults.standard_epochs,
        help="each fold's epochs, standard recipe (default: the CLI's)",
    )
    parser.add_argument(
        "--few-shot-epochs",
        type=int,
        default=defaults.few_shot_epochs,
        help="each fold's epochs, few-shot recipe (default: the CLI's)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2 cores: 2)")
    parser.add_argument("--out", type=Path, default=default_out("suspects"), help="JSON file")
    parser.add_argument(
        "--save-probs", type=Path, metavar="DIR", help="also save each run's probabilities here"
    )
    args = parser.parse_args(argv)
    root = datasets_dir(parser, args.datasets, [FILES[t][0] for t in args.tasks])
    torch.set_num_threads(args.threads)
    base = resolve_base_model(base_model())
    payload = {"hardware": hardware(), "args": vars(args), "results": []}
    with tempfile.TemporaryDirectory(prefix="heed-suspects-") as tmp:
        for seed in args.seeds:
            for task in args.tasks:
                result = run_one(task, seed, args, read_pairs(root, task), base, Path(tmp))
                print(result, flush=True)
                payload["results"].append(result)
                payload["summary"] = summary(payload["results"])
                write_json(args.out, payload)
    print(payload["summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
