"""Few-shot accuracy: Heed against SetFit, frozen MiniLM embeddings + logistic regression and
TF-IDF + logistic regression, on the same rows, the same test rows, in the same run.

Cuts (seeded): ``banking77``: ``--intents`` intents drawn by the seed, ``n`` training rows of
each from ``train.csv``, every ``test.csv`` row of those intents as the test set; ``vader``:
VADER Amazon's 3 labels, ``n`` rows of each, tested on ``--test-rows`` other rows (the same for
every ``n``). Methods (``--methods``):

* ``tfidf-lr``: scikit-learn ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`` +
  ``LogisticRegression(max_iter=1000)``;
* ``frozen-lr``: the embedded all-MiniLM-L6-v2 as sentence-transformers ships it (mean pooling,
  normalised), frozen, + ``LogisticRegression(max_iter=1000)``;
* ``setfit``: the ``setfit`` package on the same body, ``num_iterations`` 20 (the README
  example's; ``--setfit-iterations``), batch 16, 1 epoch, its default learning rates, then its
  logistic-regression head;
* ``heed-standard``: ``training.finetune.train`` with ``TrainConfig()`` on a stratified 80 %,
  epoch chosen on the other 20 % (what ``run_train`` does without ``--eval-data``);
* ``heed-few-shot``: ``training.few_shot.train_few_shot`` on every row, fixed schedule;
* ``heed-few-shot-top2``: the same training only the top 2 encoder layers
  (``FewShotSchedule.train_layers``, the lower ones run once per row).

Train seconds are wall time of fitting only (test scoring excluded). Used by
``benchmarks/accuracy.py --tasks few-shot``; needs the ``bench`` extra (setfit, scikit-learn).
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.exports import Example, stratified_split
from training.evaluate import score

METHODS = (
    "tfidf-lr",
    "frozen-lr",
    "setfit",
    "heed-standard",
    "heed-few-shot",
    "heed-few-shot-top2",
)


def _read(path: Path, label: str) -> list[Example]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            Example(r["text"], r[label], f"{path}:{i}")
            for i, r in enumerate(csv.DictReader(handle), 2)
        ]


def _per_label(rows: list[Example], n: int) -> list[Example]:
    taken: dict[str, list[Example]] = {}
    for row in rows:
        if len(taken.setdefault(row.label, [])) < n:
            taken[row.label].append(row)
    return [r for label in sorted(taken) for r in taken[label]]


def banking77_cut(
    data: Path, n: int, intents: int, seed: int
) -> tuple[list[Example], list[Example]]:
    """``n`` rows of each of ``intents`` seeded intents, and their whole test set."""
    train = _read(data / "banking77" / "train.csv", "category")
    test = _read(data / "banking77" / "test.csv", "category")
    chosen = set(random.Random(seed).sample(sorted({r.label for r in train}), intents))
    pool = [r for r in train if r.label in chosen]
    random.Random(seed).shuffle(pool)
    return _per_label(pool, n), [r for r in test if r.label in chosen]


def vader_cut(data: Path, n: int, test_rows: int, seed: int) -> tuple[list[Example], list[Example]]:
    """``n`` rows of each label, and ``test_rows`` other rows (the same for every ``n``)."""
    rows = _read(data / "vader_amazon" / "amazon_reviews.csv", "label")
    random.Random(seed).shuffle(rows)
    test, pool = rows[:test_rows], rows[test_rows:]
    return _per_label(pool, n), test


def _sklearn_lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def tfidf_lr(rows, test, **_) -> tuple[list[str], float]:
    """TF-IDF + logistic regression: predictions for ``test`` and fit seconds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), _sklearn_lr())
    model.fit([r.text for r in rows], [r.label for r in rows])
    seconds = time.perf_counter() - started
    return list(model.predict([r.text for r in test])), seconds


def frozen_lr(rows, test, **_) -> tuple[list[str], float]:
    """Frozen sentence-transformers embeddings + logistic regression."""
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    body = SentenceTransformer(resolve_base_model(base_model()), device="cpu")
    head = _sklearn_lr().fit(body.encode([r.text for r in rows]), [r.label for r in rows])
    seconds = time.perf_counter() - started
    return list(head.predict(body.encode([r.text for r in test]))), seconds


def setfit(rows, test, *, seed: int, iterations: int = 20, **_) -> tuple[list[str], float]:
    """The setfit package: contrastive pairs on the body, then a logistic-regression head."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="setfit-") as tmp:
        model = SetFitModel.from_pretrained(resolve_base_model(base_model()))
        args = TrainingArguments(
            output_dir=tmp,
            num_iterations=iterations,
            batch_size=16,
            num_epochs=1,
            seed=seed,
            save_strategy="no",
            report_to="none",
        )
        data = Dataset.from_dict({"text": [r.text for r in rows], "label": [r.label for r in rows]})
        Trainer(model=model, args=args, train_dataset=data).train()
    seconds = time.perf_counter() - started
    return [str(p) for p in model.predict([r.text for r in test])], seconds


def _heed_predict(outcome, test, device) -> list[str]:
    from classifier import Classifier

    classifier = Classifier(outcome.model, outcome.tokenizer, version="bench", device=device)
    return [p.label for p in classifier.predict([r.text for r in test])]


def heed_standard(rows, test, *, config, device, **_) -> tuple[list[str], float]:
    """Heed's standard recipe: 80 % trained, epoch chosen on 20 %."""
    from training.finetune import train

    started = time.perf_counter()
    fit, held = stratified_split(rows, 0.2, config.seed)
    outcome = train(fit, held, base=resolve_base_model(base_model()), config=config, device=device)
    seconds = time.perf_counter() - started
    return _heed_predict(outcome, test, device), seconds


def heed_few_shot(rows, test, *, config, device, schedule, **_) -> tuple[list[str], float]:
    """Heed's few-shot recipe on every row."""
    from training.few_shot import train_few_shot

    started = time.perf_counter()
    outcome = train_few_shot(
        rows,
        [],
        base=resolve_base_model(base_model()),
        config=config,
        device=device,
        schedule=schedule,
    )
    seconds = time.perf_counter() - started
    return _heed_predict(outcome, test, device), seconds


def heed_few_shot_top2(rows, test, *, schedule, **kwargs) -> tuple[list[str], float]:
    """Heed's few-shot recipe training only the top 2 encoder layers (the rest cached)."""
    return heed_few_shot(rows, test, schedule=replace(schedule, train_layers=2), **kwargs)


RUNNERS: dict[str, Callable] = {
    "tfidf-lr": tfidf_lr,
    "frozen-lr": frozen_lr,
    "setfit": setfit,
    "heed-standard": heed_standard,
    "heed-few-shot": heed_few_shot,
    "heed-few-shot-top2": heed_few_shot_top2,
}


def few_shot(args, data: Path, config, device, results: list, save) -> None:
    """accuracy.py's ``few-shot`` task: every cut x size x method, one result each."""
    from training.few_shot import FewShotSchedule

    schedule = FewShotSchedule()
    overrides = {
        "lr": args.few_shot_lr,
        "epochs": args.few_shot_epochs,
        "min_steps": args.few_shot_min_steps,
        "contrastive_weight": args.contrastive_weight,
        "refit_head": {None: None, "yes": True, "no": False}[args.refit_head],
        "head_c": args.head_c,
        "train_layers": args.few_shot_train_layers,
    }
    schedule = replace(schedule, **{k: v for k, v in overrides.items() if v is not None})
    for cut in args.few_shot_cuts:
        for n in args.few_shot_sizes:
            if cut == "banking77":
                rows, test = banking77_cut(data, n, args.intents, config.seed)
                name = f"banking77 {args.intents} intents"
            else:
                rows, test = vader_cut(data, n, args.test_rows, config.seed)
                name = "VADER 3 labels"
            for method in args.methods:
                predicted, seconds = RUNNERS[method](
                    rows,
                    test,
                    seed=config.seed,
                    config=config,
                    device=device,
                    schedule=schedule,
                    iterations=args.setfit_iterations,
                )
                report = score([r.label for r in test], predicted, sorted({r.label for r in rows}))
                result = {
                    "task": "few-shot",
                    "cut": name,
                    "per_class": n,
                    "train_rows": len(rows),
                    "test_rows": len(test),
                    "method": method,
                    "accuracy": 100 * report["accuracy"],
                    "macro_f1": 100 * report["macro_f1"],
                    "train_seconds": round(seconds, 1),
                }
                if method == "heed-few-shot":
                    result["schedule"] = schedule.__dict__
                if method == "setfit":
                    result["num_iterations"] = args.setfit_iterations
                print(f"[few-shot] {result}", file=sys.stderr, flush=True)
                results.append(result)
                save()


def few_shot_rows(results: list[dict]) -> list[list[object]]:
    """Rows of the few-shot table: cut, per class, method, accuracy, macro-F1, train s."""
    return [
        [
            r["cut"],
            f"{r['per_class']} ({r['train_rows']}; test {r['test_rows']})",
            r["method"],
            f"{r['accuracy']:.1f}",
            f"{r['macro_f1']:.1f}",
            r["train_seconds"],
        ]
        for r in results
        if r["task"] == "few-shot"
    ]
