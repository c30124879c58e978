"""The models benchmarks/faithfulness.py explains: loaded (a model DIR or store VERSION) or
fine-tuned with the default recipe (SST-2 on a stratified ``--train-rows`` subset of its train
set; VADER on a stratified 1,200-row cut, the rest of VADER being what is evaluated)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _common import stratified_subsample


def fine_tune(train_rows, select_rows, args, device, save_as: str | None):
    from dataclasses import replace

    from classifier import Classifier
    from classifier.base_model import resolve_base_model
    from classifier.cli_support import base_model
    from classifier.store import METADATA_FILE
    from training.config import TrainConfig
    from training.finetune import train
    from training.progress import Progress

    config = TrainConfig() if not args.epochs else replace(TrainConfig(), epochs=args.epochs)
    outcome = train(
        train_rows,
        select_rows,
        base=resolve_base_model(base_model()),
        config=config,
        device=device,
        progress=Progress(stream=sys.stderr),
    )
    if save_as and args.save_models:
        out = Path(args.save_models) / save_as
        out.mkdir(parents=True, exist_ok=True)
        outcome.model.save_pretrained(out)
        outcome.tokenizer.save_pretrained(out)
        # Without heed.json a mean-pooled model would load with the untrained [CLS] pooler.
        (out / METADATA_FILE).write_text(json.dumps({"pooling": outcome.pooling}), "utf-8")
    outcome.model.requires_grad_(False)  # as Classifier.load does
    clf = Classifier(
        outcome.model, outcome.tokenizer, version=f"fine-tuned ({save_as})", device=device
    )
    info = {
        "source": "fine-tuned here with TrainConfig() defaults"
        + (f", epochs={args.epochs}" if args.epochs else ""),
        "train_rows": len(train_rows),
        "selection_rows": len(select_rows),
        "selection_metrics": {k: outcome.metrics[k] for k in ("accuracy", "macro_f1")},
        "best_epoch": outcome.best_epoch,
        "train_seconds": round(outcome.seconds, 1),
    }
    return clf, info


def load(ref: str, device):
    from classifier import Classifier, ModelStore
    from classifier.cli_support import model_dir

    return Classifier.load(ref, store=ModelStore(model_dir()), device=str(device)), {
        "source": f"loaded {ref}"
    }


def sst2_setup(args, data: Path, device):
    from classifier.exports import read_export

    dev = read_export(data / "sst2" / "dev.tsv")
    if args.sst2_model:
        clf, info = load(args.sst2_model, device)
    else:
        train_all = read_export(data / "sst2" / "train.tsv")
        select = stratified_subsample(train_all, 872, 42)
        held = {id(r) for r in select}
        pool = [r for r in train_all if id(r) not in held]
        clf, info = fine_tune(
            stratified_subsample(pool, args.train_rows, 42), select, args, device, "sst2"
        )
    return clf, info, dev


VADER_TRAIN_ROWS = 1200
"""VADER rows the model is fine-tuned on (a stratified cut, the size the bundled sample had when
the published figures were measured); every other VADER row may be evaluated."""


def vader_setup(args, data: Path, device):
    from classifier.exports import EVAL_FRACTION, read_export, stratified_split

    every = read_export(data / "vader_amazon" / "amazon_reviews.csv")
    train_cut = stratified_subsample(every, VADER_TRAIN_ROWS, 20140601)
    trained_on = {r.text.strip().lower() for r in train_cut}
    rows = [r for r in every if r.text.strip().lower() not in trained_on]
    if args.vader_model:
        clf, info = load(args.vader_model, device)
    else:
        train_rows, select = stratified_split(train_cut, EVAL_FRACTION, 42)  # as run_train does
        clf, info = fine_tune(train_rows, select, args, device, "vader")
        info["train_data"] = f"a stratified {VADER_TRAIN_ROWS}-row cut of vader_amazon"
    info["evaluated_rows_from"] = f"vader_amazon minus the {len(train_cut)} training rows"
    return clf, info, rows
