"""Active learning: does labelling the rows the model is least sure about beat labelling rows
at random?

For each dataset and seed: draw a candidate pool (``--pool`` random rows of the training
file) and ``--start`` random rows of it as the first labelled set, shared by every strategy.
Each round fine-tunes a fresh model on the labelled rows with the project's own loop
(``training.finetune.train``), scores it on the test rows, then labels ``--batch`` more pool
rows: ``random`` draws them (seeded), ``margin``/``entropy`` take the unlabelled rows whose
``classifier.uncertainty.uncertainty`` score, read from ``Classifier.predict`` probabilities of
the round's model, is highest: the score the labelling queue ranks by. The round-0 model is
trained once and shared.

One recipe for every round and strategy: ``TrainConfig`` defaults with ``pooling="mean"``,
``--epochs`` (2), ``--batch-size`` (8: with 64-384 rows the default 16 leaves too few steps;
banking77, 128 rows, 2 epochs: 28.2 % vs 16.9 % test accuracy) and the run's seed. No labels
are held out for epoch choice (with 64-384 rows a held-out split wastes them): ``train()`` is
given the labelled rows themselves as its selection rows, so the epoch kept is the best
training-set macro-F1 (the last epoch unless the fit stops improving earlier; the JSON records
it). The test rows take part in no choice.

Test: SST-2 GLUE dev (872 rows), banking77 test: a fixed stratified ``--banking77-test``
subset (770 rows, 10 per intent, by default: the 2-core CPU budget; 3080 for all).
``--out`` (JSON) and ``--plot`` (PNG) are rewritten after every run, so a cut-off benchmark
keeps what it finished; seeds run in the outer loop, so it keeps every dataset.

Usage::

    python benchmarks/active_learning.py --datasets DIR --threads 1
    python benchmarks/active_learning.py --datasets DIR --datasets-list sst2 --seeds 1 --rounds 1
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _al_report import plot, summarise, tables
from _common import (
    DATASET_FILES,
    RESULTS_DIR,
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    stratified_subsample,
    temp_model_store,
    write_json,
)
from _selection import pick_random, pick_uncertain

log = logging.getLogger("active_learning")
DATASETS = ("sst2", "banking77")
LABEL_COLUMN = {"sst2": "label", "banking77": "category"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from classifier.uncertainty import SCORES

    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="Simulate active-learning rounds: uncertainty vs random sampling.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_datasets_option(p)
    p.add_argument("--datasets-list", default="sst2,banking77", help="comma list of sst2,banking77")
    p.add_argument("--seeds", type=int, default=3, help="runs per strategy (seeds 42, 43, ...)")
    p.add_argument("--start", type=int, default=64, help="random labelled rows to start from")
    p.add_argument("--rounds", type=int, default=5, help="rounds after the start")
    p.add_argument("--batch", type=int, default=64, help="rows labelled per round")
    p.add_argument("--pool", type=int, default=1000, help="candidate pool: random train rows")
    p.add_argument("--scores", default="margin", help=f"comma list of {','.join(SCORES)}")
    p.add_argument("--epochs", type=int, default=2, help="fixed epochs per training")
    p.add_argument("--batch-size", type=int, default=8, help="training rows per step")
    p.add_argument(
        "--banking77-test",
        type=int,
        default=770,
        help="banking77 test rows: a fixed stratified subset (seed 0); 3080 for all",
    )
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--out", default=str(default_out("active_learning")), help="JSON results")
    p.add_argument("--plot", default=str(RESULTS_DIR / "active_learning.png"), help="PNG plot")
    args = p.parse_args(argv)
    args.datasets_list = [d.strip() for d in args.datasets_list.split(",") if d.strip()]
    args.scores = [s.strip() for s in args.scores.split(",") if s.strip()]
    if not args.datasets_list or set(args.datasets_list) - set(DATASETS):
        p.error(f"--datasets-list {','.join(args.datasets_list)}: use names from {DATASETS}")
    if not args.scores or set(args.scores) - set(SCORES):
        p.error(f"--scores {','.join(args.scores)}: use names from {SCORES}")
    for name in ("seeds", "start", "rounds", "batch", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.pool < args.start + args.rounds * args.batch:
        p.error(f"--pool {args.pool} is smaller than --start + --rounds x --batch")
    if args.banking77_test < 77:
        p.error("--banking77-test must be at least 77 (one row per intent)")
    args.datasets = datasets_dir(
        p, args.datasets, [f for d in args.datasets_list for f in DATASET_FILES[d]]
    )
    return args


class Simulation:
    """Trains, tests and scores for one dataset; one instance per dataset."""

    def __init__(self, name: str, train_all: list, test: list, args, device) -> None:
        from classifier.base_model import resolve_base_model
        from classifier.cli_support import base_model
        from training.config import TrainConfig

        self.name, self.train_all, self.test = name, train_all, test
        self.args, self.device = args, device
        self.base = resolve_base_model(base_model())
        self.config = replace(
            TrainConfig(), pooling="mean", epochs=args.epochs, batch_size=args.batch_size
        )

    def fit(self, rows: list, seed: int) -> tuple[object, dict]:
        """A fresh model on ``rows`` (also its selection rows); returns it and its record."""
        from classifier import Classifier
        from training.evaluate import evaluate
        from training.finetune import train
        from training.progress import Progress

        config = replace(self.config, seed=seed)
        outcome = train(
            rows,
            rows,
            base=self.base,
            config=config,
            device=self.device,
            progress=Progress(stream=io.StringIO()),
        )
        classifier = Classifier(
            outcome.model,
            outcome.tokenizer,
            version="active-learning",
            device=self.device,
            max_length=config.max_length,
        )
        started = time.perf_counter()
        accuracy = evaluate(classifier, self.test)["accuracy"]
        return classifier, {
            "labels": len(rows),
            "accuracy": 100 * accuracy,
            "best_epoch": outcome.best_epoch,
            "train_seconds": round(outcome.seconds, 1),
            "test_seconds": round(time.perf_counter() - started, 1),
        }

    def scores(self, classifier, pool: list, candidates: list[int], score: str) -> list[float]:
        """Uncertainty of each candidate under ``classifier``, as the labelling queue ranks."""
        from classifier.uncertainty import uncertainty

        predictions = classifier.predict([pool[i].text for i in candidates])
        return [uncertainty(list(p.scores.values()), score) for p in predictions]

    def run_seed(self, seed: int, strategies: list[str], save) -> None:
        """Every strategy for one seed: same pool, same start rows, same round-0 model."""
        args = self.args
        rng = random.Random(seed)
        pool = rng.sample(self.train_all, args.pool)
        start = rng.sample(range(len(pool)), args.start)
        first, first_record = self.fit([pool[i] for i in start], seed)
        self._log(seed, "start", first_record)
        for strategy in strategies:
            picker = random.Random(f"random-{seed}")
            labelled, model, records = list(start), first, [first_record]
            for _ in range(args.rounds):
                taken = set(labelled)
                candidates = [i for i in range(len(pool)) if i not in taken]
                started = time.perf_counter()
                if strategy == "random":
                    picked = pick_random(candidates, args.batch, picker)
                else:
                    scores = self.scores(model, pool, candidates, strategy)
                    picked = pick_uncertain(candidates, scores, args.batch)
                pick_seconds = round(time.perf_counter() - started, 1)
                labelled += picked
                model, record = self.fit([pool[i] for i in labelled], seed)
                record["pick_seconds"] = pick_seconds
                records.append(record)
                self._log(seed, strategy, record)
            save(
                {
                    "dataset": self.name,
                    "seed": seed,
                    "strategy": strategy,
                    "labels": [r["labels"] for r in records],
                    "accuracy": [r["accuracy"] for r in records],
                    "rounds": records,
                }
            )

    def _log(self, seed: int, strategy: str, record: dict) -> None:
        log.info(
            "%s seed %d %s: %d labels -> acc %.2f (epoch %d, train %.0fs, test %.0fs)",
            self.name,
            seed,
            strategy,
            record["labels"],
            record["accuracy"],
            record["best_epoch"],
            record["train_seconds"],
            record["test_seconds"],
        )


def load(data: Path, name: str, test_limit: int | None) -> tuple[list, list]:
    """The dataset's training rows and its test rows (a fixed stratified ``test_limit``
    subset when given and smaller)."""
    from classifier.exports import read_export

    train_file, test_file = DATASET_FILES[name]
    train_all = read_export(data / train_file, label_column=LABEL_COLUMN[name])
    test = read_export(data / test_file, label_column=LABEL_COLUMN[name])
    if test_limit and test_limit < len(test):
        test = stratified_subsample(test, test_limit, seed=0)
    return train_all, test


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s", datefmt="%X"
    )
    args = parse_args(argv)
    from classifier.device import pick_device

    threads = set_threads(args.threads)
    device = pick_device(args.device)
    strategies = ["random", *args.scores]
    seeds = [42 + i for i in range(args.seeds)]
    runs: list[dict] = []
    payload = {
        "benchmark": "active_learning",
        "hardware": {**hardware(), "torch_threads": threads},
        "device": str(device),
        "datasets": str(args.datasets),
        "settings": {
            "start": args.start,
            "rounds": args.rounds,
            "batch": args.batch,
            "pool": args.pool,
            "seeds": seeds,
            "strategies": strategies,
            "banking77_test": args.banking77_test,
        },
        "recipe": "TrainConfig defaults, pooling=mean, fixed epochs, a fresh model per round; "
        "selection rows = the labelled rows themselves (no labels held out, test untouched)",
        "runs": runs,
    }
    started = time.perf_counter()

    def save(run: dict) -> None:
        runs.append(run)
        payload["elapsed_seconds"] = round(time.perf_counter() - started, 1)
        payload["summary"] = summarise(runs, args.scores)
        payload["tables"] = tables(payload["summary"])
        write_json(args.out, payload)
        plot(payload["summary"], args.plot)

    simulations = {}
    for name in args.datasets_list:
        limit = args.banking77_test if name == "banking77" else None
        simulations[name] = Simulation(name, *load(args.datasets, name, limit), args, device)
        payload["test_rows"] = {n: len(s.test) for n, s in simulations.items()}
        payload["config"] = simulations[name].config.__dict__
    with temp_model_store():
        # Seed by seed, so a run cut short still has every dataset (with fewer seeds).
        for seed in seeds:
            for simulation in simulations.values():
                simulation.run_seed(seed, strategies, save)
    log.info("wrote %s and %s in %.0fs", args.out, args.plot, time.perf_counter() - started)
    sys.stdout.write(payload.get("tables", "") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
