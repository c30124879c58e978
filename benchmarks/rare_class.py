"""A rare class: today's recipe, the earlier one, post-hoc logit adjustment and resampling.

Cuts (``--cut``):

- ``vader``: VADER Amazon reviews cut so that ``neutral`` is ``--rare-share`` (5 % or 2 %) of
  the rows and ``positive``/``negative`` share the rest equally: ``--rows`` training rows (the
  epoch chosen on a stratified 20 % of them, like ``run_train``) and as many unseen test rows
  with the same shares;
- ``vader-natural``: ``--rows`` training and as many test rows drawn at random from VADER
  Amazon, its own shares (about 47 % positive, 33 % negative, 21 % neutral; the bundled
  sample's);
- ``topic5``: the balanced 5-intent banking77 cut of ``recipe_sweep.py`` (400 rows, scored on
  the intents' official test rows): what a rare-class lever may not cost.

Trained models (``training.finetune.train``, the standard recipe, on the same rows):
``mean+balanced`` (mean pooling, class-balanced loss: the defaults before this benchmark),
``cls+none`` ([CLS] pooling, plain loss: the recipe before those) and, with ``--resample``,
``cls+none+resampled`` (every class's rows repeated up to the largest class's count);
``--models`` picks some, ``mean+none`` among them, and ``mean+pairs``: the few-shot recipe's
contrastive fine-tune (head started from a logistic regression, in-batch supervised contrastive
term) for 4 passes, every batch opening with a pair of each label. Each
model is scored as trained and with post-hoc logit adjustment (``+LA tau`` for every
``--taus`` value, ``classifier.label_bias``): ``-tau * log(prior)`` added to the logits, the
prior being the training rows' label shares, no new training; with ``--cv-bias-folds K``, also
``+CV``: a bias per label tuned for macro-F1 on the training rows' out-of-fold scores from K
more fits of the same model (``_cv_bias.py``). Reported per variant: test
accuracy, macro-F1, and the rare class's recall, precision and F1; mean ± std over the
``--select-seeds`` (where a variant is chosen) and, apart, over the other seeds (where it is
reported). Every seed draws its own cut and split.

Usage::

    python benchmarks/rare_class.py --datasets DIR --cut vader --rare-share 0.05 --seeds 1,2,3

``--datasets DIR`` (or ``$HEED_DATASETS``): the folder described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    DATASET_FILES,
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    set_threads,
    table,
    write_json,
)
from _cv_bias import cross_validated_bias
from recipe_sweep import _csv, load_task

from classifier.base_model import resolve_base_model
from classifier.cli_support import base_model
from classifier.device import pick_device
from classifier.exports import Example, stratified_split
from classifier.label_bias import adjusted, check_label_bias, prior_bias
from classifier.model import Classifier
from training.config import TrainConfig
from training.evaluate import score
from training.few_shot import FewShotSchedule, train_few_shot
from training.finetune import train

RARE = "neutral"
MODELS = {
    "mean+balanced": {"pooling": "mean", "class_weights": "balanced"},
    "cls+none": {"pooling": "cls", "class_weights": "none"},
}
# Trained only when named in ``--models``: today's pooling with the plain loss, which tells the
# pooling's share of a difference from the loss's.
OPTIONAL = {
    "mean+none": {"pooling": "mean", "class_weights": "none"},
    # The few-shot recipe's contrastive term with a pair of every label in each batch
    # (FewShotSchedule.pairs_per_label), on the standard recipe's epochs: issue 25's
    # "contrastive pairs drawn per class".
    "mean+pairs": {"pooling": "mean", "class_weights": "none"},
}
PAIRS = FewShotSchedule(epochs=4, min_steps=1, pairs_per_label=True)
METRICS = ("test_accuracy", "test_macro_f1", "rare_recall", "rare_precision", "rare_f1")


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


def resampled(rows: list[Example], rng: random.Random) -> list[Example]:
    """``rows`` with every class's rows repeated (then drawn at random for the remainder) up
    to the largest class's count, shuffled."""
    by_label: dict[str, list[Example]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    most = max(len(group) for group in by_label.values())
    out = []
    for group in by_label.values():
        whole, rest = divmod(most, len(group))
        out += group * whole + rng.sample(group, rest)
    rng.shuffle(out)
    return out


def scored_run(name: str, gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Accuracy, macro-F1 and (when the cut has one) the rare class's recall, precision and
    F1 of one variant on the test rows."""
    report = score(gold, predicted, labels)
    run = {
        "variant": name,
        "test_accuracy": report["accuracy"],
        "test_macro_f1": report["macro_f1"],
    }
    rare = report["per_class"].get(RARE)
    if rare:
        run.update(
            rare_recall=rare["recall"],
            rare_precision=rare["precision"],
            rare_f1=rare["f1"],
            rare_test_rows=rare["support"],
        )
    return run


def cut(rows: list[Example] | None, args: argparse.Namespace, seed: int):
    """``(training rows, unseen test rows)`` of ``args.cut`` for ``seed``."""
    if args.cut == "topic5":
        return load_task("topic5", args.datasets, seed)
    if args.cut == "vader-natural":
        drawn = random.Random(seed).sample(rows, 2 * args.rows)
        return drawn[: args.rows], drawn[args.rows :]
    return imbalanced_cut(rows, args.rows, args.rare_share, random.Random(seed))


def one_seed(rows, args: argparse.Namespace, seed: int, device) -> list[dict]:
    """Every model on one seed's cut, each as trained and with every logit adjustment."""
    train_rows, test = cut(rows, args, seed)
    fit, held = stratified_split(train_rows, 0.2, seed)
    models = dict(MODELS)
    if args.resample:
        models["cls+none+resampled"] = MODELS["cls+none"]
    models = {name: {**models, **OPTIONAL}[name] for name in args.models or models}
    gold = [r.label for r in test]
    base = resolve_base_model(base_model())
    runs = []
    for model, settings in models.items():
        rows_seen = resampled(fit, random.Random(seed)) if model.endswith("resampled") else fit
        config = replace(TrainConfig(seed=seed), **settings)
        started = time.monotonic()
        if model == "mean+pairs":
            outcome = train_few_shot(
                rows_seen, held, base=base, config=config, device=device, schedule=PAIRS
            )
        else:
            outcome = train(rows_seen, held, base=base, config=config, device=device)
        seconds = time.monotonic() - started
        classifier = Classifier(outcome.model, outcome.tokenizer, version=model, device=device)
        labels = classifier.labels
        logits = classifier.logits([r.text for r in test])
        counts = Counter(r.label for r in rows_seen)
        variants = {
            model + (f"+LA{tau:g}" if tau else ""): (
                tau,
                check_label_bias(prior_bias(counts, tau), labels) if tau else None,
                {},
            )
            for tau in [0.0, *args.taus]
        }
        if args.cv_bias_folds:
            cv_started = time.monotonic()
            bias, tuning = cross_validated_bias(
                train_rows,
                labels,
                folds=args.cv_bias_folds,
                base=base,
                config=config,
                device=device,
            )
            tuning["cv_seconds"] = round(time.monotonic() - cv_started, 1)
            variants[model + "+CV"] = (0.0, bias, {"cv": tuning})
        for name, (tau, bias, extra) in variants.items():
            predicted = [labels[i] for i in adjusted(logits, bias).argmax(-1).tolist()]
            run = scored_run(name, gold, predicted, labels)
            run.update(
                **extra,
                seed=seed,
                model=model,
                tau=tau,
                train_rows=len(rows_seen),
                epoch_choice_rows=len(held),
                test_rows=len(test),
                best_epoch=outcome.best_epoch,
                train_seconds=round(seconds, 1),
            )
            print(f"[rare_class] {run}", file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def summary(runs: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds, per variant, in first-seen order."""
    out = []
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        row: dict = {"variant": variant, "seeds": sorted({r["seed"] for r in mine})}
        for key in METRICS:
            values = [r[key] for r in mine if key in r]
            if values:
                row[key] = statistics.fmean(values)
                row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(row)
    return out


def printed(rows: list[dict]) -> str:
    """The summary as a markdown table."""
    keys = [k for k in METRICS if rows and k in rows[0]]
    return table(
        ["variant", "seeds", *keys],
        [
            [
                r["variant"],
                ",".join(map(str, r["seeds"])),
                *[f"{r[k]:.3f} ± {r[k + '_std']:.3f}" for k in keys],
            ]
            for r in rows
        ],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_datasets_option(p)
    p.add_argument(
        "--cut", choices=("vader", "vader-natural", "topic5"), default="vader", help="see above"
    )
    p.add_argument(
        "--rows", type=int, default=600, help="vader: training rows (and as many unseen test rows)"
    )
    p.add_argument(
        "--rare-share", type=float, default=0.05, help="vader: the neutral class's share"
    )
    p.add_argument("--seeds", default="1,2,3", help="comma list; each seed draws its own cut")
    p.add_argument(
        "--select-seeds", default="1", help="the seeds variants are chosen on (comma list)"
    )
    p.add_argument("--taus", default="0.5,1,2", help="logit-adjustment strengths (comma list)")
    p.add_argument("--resample", action="store_true", help="also train on resampled rows")
    p.add_argument(
        "--cv-bias-folds",
        type=int,
        default=0,
        help="also a label bias tuned for macro-F1 on K-fold out-of-fold scores of the "
        "training rows (+CV; 0: off)",
    )
    p.add_argument("--models", default="", help="comma list of the models to train (default: all)")
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default: cpu)")
    p.add_argument(
        "--out", default=str(default_out("rare_class")), help="where the JSON results go"
    )
    args = p.parse_args(argv)
    args.taus = [float(x) for x in args.taus.split(",") if x]
    args.models = [x for x in args.models.split(",") if x]
    unknown = set(args.models) - {*MODELS, *OPTIONAL, "cls+none+resampled"}
    if unknown or ("cls+none+resampled" in args.models and not args.resample):
        names = ", ".join([*MODELS, *OPTIONAL])
        p.error(f"--models: use {names} or cls+none+resampled (with --resample)")
    files = (
        DATASET_FILES["banking77"] if args.cut == "topic5" else ["vader_amazon/amazon_reviews.csv"]
    )
    args.datasets = datasets_dir(p, args.datasets, files)
    set_threads(args.threads)
    device = pick_device(args.device)
    rows = None
    if args.cut != "topic5":
        rows = _csv(args.datasets / "vader_amazon/amazon_reviews.csv", "text", "label")
    select = {int(x) for x in args.select_seeds.split(",")}
    runs: list[dict] = []
    for seed in [int(x) for x in args.seeds.split(",")]:
        runs += one_seed(rows, args, seed, device)
        payload = {
            "hardware": hardware(),
            "argv": sys.argv[1:],
            "runs": runs,
            "summary_select": summary([r for r in runs if r["seed"] in select]),
            "summary_report": summary([r for r in runs if r["seed"] not in select]),
        }
        write_json(args.out, payload)
    for name in ("summary_select", "summary_report"):
        print(f"{name}:\n{printed(payload[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
