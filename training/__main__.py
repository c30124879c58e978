"""CLI: ``python -m training train|check|evaluate|demo`` (``--json`` for machines).

Outcome kinds, exit codes and the JSON shapes: :mod:`training.contract` (written out in
``docs/ARCHITECTURE.md``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import torch

from classifier import Classifier, ModelStore, cli_support
from classifier.cli_support import configure, emit, fail
from classifier.exports import EVAL_FRACTION, check_rows, read_exports
from classifier.model import pick_device
from classifier.pooling import POOLING_CHOICES
from classifier.store import DEFAULT_TASK, task_root
from training.config import TrainConfig
from training.contract import (
    EXIT_CODES,
    ArgumentParser,
    DeviceError,
    InterruptedAfterWrite,
    UsageError,
    classify,
    sigterm_interrupts,
    success,
)
from training.distributed import Dist
from training.evaluate import confusion_matrix_png, evaluate
from training.few_shot import FEW_SHOT_BELOW, RECIPES
from training.pipeline import DEFAULT_SAMPLE, run_train
from training.progress import Progress, Silent
from training.watchdog import stop_when_stdin_closes

DEFAULTS = TrainConfig()


def _parser() -> ArgumentParser:
    codes = ", ".join(f"{code} {kind}" for kind, code in EXIT_CODES.items())  # in code order
    parser = ArgumentParser(
        prog="python -m training",
        description="Fine-tune and evaluate Heed's classifier (--json for machines).",
        epilog=f"exit codes: 0 ok, {codes}",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="fine-tune on labelled exports; writes a new version")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        nargs="+",
        type=Path,
        metavar="FILE",
        help=f"labelled exports (.csv, .tsv or .jsonl) to learn from; without --eval-data a "
        f"stratified {EVAL_FRACTION:.0%}% of them is held out to judge the model",
    )
    source.add_argument(
        "--bundled-sample",
        action="store_true",
        help=f"train on the sample export shipped with Heed ({DEFAULT_SAMPLE.name})",
    )
    _eval_options(train)
    train.add_argument("--base", help="base model: directory, hub id, store version or 'current'")
    train.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS.epochs,
        help="passes over the training rows; the best epoch on the eval rows is kept "
        "(standard recipe; default: %(default)s)",
    )
    train.add_argument(
        "--lr",
        type=float,
        default=DEFAULTS.lr,
        help="peak learning rate of the encoder, after a linear warm-up; it decays linearly "
        "to 0 (standard recipe; default: %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULTS.batch_size,
        help="rows per training step (default: %(default)s)",
    )
    train.add_argument(
        "--max-length",
        type=int,
        default=DEFAULTS.max_length,
        help="tokens kept per text, 8 to 512; longer texts are truncated (default: %(default)s)",
    )
    train.add_argument(
        "--max-tokens",
        type=int,
        default=DEFAULTS.max_tokens,
        help="batches by a token budget (rows x padded length) instead of --batch-size rows "
        "(standard recipe)",
    )
    _seed_option(train, "seeds the eval split, the batch order and the new head's weights")
    train.add_argument(
        "--head-lr-scale",
        type=float,
        default=DEFAULTS.head_lr_scale,
        help="learning-rate multiplier for the new pooler and classification head "
        "(standard recipe; default: %(default)s)",
    )
    train.add_argument(
        "--pooling",
        choices=POOLING_CHOICES,
        default=DEFAULTS.pooling,
        help="the head reads the [CLS] pooler (cls) or the mean of the token vectors (mean); "
        "auto: mean where the architecture's head takes it, else cls",
    )
    train.add_argument(
        "--recipe",
        choices=RECIPES,
        default=DEFAULTS.recipe,
        help=f"few-shot: every row on a fixed schedule (its own epochs and lr), metrics from "
        f"the same recipe on a held-out split; auto: few-shot when the smallest label has under "
        f"{FEW_SHOT_BELOW} rows",
    )
    train.add_argument(
        "--class-weights",
        choices=["none", "balanced"],
        default=DEFAULTS.class_weights,
        help="balanced: weigh each class's loss inversely to its rows (rare classes; "
        "standard recipe)",
    )
    train.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    train.add_argument(
        "--train-embeddings", action="store_true", help="also update the word-embedding matrix"
    )
    _column_options(train)
    train.add_argument("--promote", action="store_true", help="serve it if not worse than current")
    train.add_argument(
        "--progress",
        choices=["bar", "jsonl"],
        default="bar",
        help="bar: a progress bar for people; jsonl: one JSON object per step and epoch on "
        "stderr, for machines (default: %(default)s)",
    )
    _json_option(train)
    _task_option(train)
    train.add_argument(
        "--stop-when-stdin-closes",
        action="store_true",
        help="stop as if interrupted when standard input closes (its caller died)",
    )

    check = sub.add_parser(
        "check", help="validate exports and count rows per label, as train would split them"
    )
    check.add_argument(
        "--data",
        nargs="+",
        type=Path,
        required=True,
        metavar="FILE",
        help="labelled exports to check, as train's --data",
    )
    _eval_options(check)
    _seed_option(check, "seeds the eval split: give train's --seed to see its split")
    _column_options(check)
    _json_option(check)

    ev = sub.add_parser("evaluate", help="score a model on a labelled export")
    ev.add_argument("--model", default="current", help="current, a version or a directory")
    ev.add_argument(
        "--data",
        nargs="+",
        type=Path,
        required=True,
        metavar="FILE",
        help="labelled exports (.csv, .tsv or .jsonl) to score the model on",
    )
    ev.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    _column_options(ev)
    ev.add_argument("--plot", type=Path, help="also write the confusion matrix PNG here")
    _json_option(ev)
    _task_option(ev)

    demo = sub.add_parser("demo", help="train the default model if needed, then draw heatmaps")
    demo.add_argument("--out", type=Path, default=Path("out"), help="where heatmaps go")
    return parser


def _eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--eval-data",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="judge the model (and its promotion) on these rows instead of a split of --data",
    )
    parser.add_argument(
        "--train-only",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="rows to learn from but never to judge on: kept out of the eval split",
    )


def _seed_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--seed", type=int, default=DEFAULTS.seed, help=f"{what} (default: %(default)s)"
    )


def _column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-column",
        default="text",
        help="the exports' column (or JSONL key) holding the text (default: %(default)s)",
    )
    parser.add_argument(
        "--label-column",
        default="label",
        help="the exports' column (or JSONL key) holding the label (default: %(default)s)",
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (the contract in training.contract), not text",
    )


def _task_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        default=DEFAULT_TASK,
        help="the task's model store: $HEED_MODEL_DIR/TASK (default: the root itself)",
    )


def _store(args: argparse.Namespace) -> ModelStore:
    """The model store of ``--task``; a bad task name is a usage error."""
    try:
        return ModelStore(task_root(cli_support.model_dir(), args.task))
    except ValueError as exc:
        raise UsageError(f"--task: {exc}") from None


def _validate(args: argparse.Namespace) -> None:
    for name in ("epochs", "batch_size", "max_length"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if args.max_length < 8 or args.max_length > 512:
        raise UsageError("--max-length must be between 8 and 512")
    if args.max_tokens is not None and args.max_tokens < args.max_length:
        raise UsageError("--max-tokens must be at least --max-length")
    if not 0 < args.lr < 1:
        raise UsageError("--lr must be between 0 and 1")
    if not 0 < args.head_lr_scale <= 1000:
        raise UsageError("--head-lr-scale must be above 0 and at most 1000")


def _device(requested: str | None) -> torch.device:
    """``--device``, else ``$HEED_DEVICE``, else ``auto``."""
    try:
        return pick_device(requested or cli_support.device())
    except ValueError as exc:
        raise DeviceError(str(exc)) from exc


def _train(args: argparse.Namespace) -> int:
    _validate(args)
    store = _store(args)
    if args.stop_when_stdin_closes:
        stop_when_stdin_closes()
    dist = Dist.from_env(os.environ)
    device = dist.device(_device(args.device))
    dist.init(device)
    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_tokens=args.max_tokens,
        seed=args.seed,
        freeze_word_embeddings=not args.train_embeddings,
        head_lr_scale=args.head_lr_scale,
        pooling=args.pooling,
        class_weights=args.class_weights,
        recipe=args.recipe,
    )
    before = set(store.versions())
    try:
        result = run_train(
            [DEFAULT_SAMPLE] if args.bundled_sample else args.data,
            eval_data=args.eval_data,
            train_only=args.train_only,
            store=store,
            config=config,
            device=device,
            base=args.base or cli_support.base_model(),
            promote=args.promote,
            progress=Progress(jsonl=args.progress == "jsonl") if dist.is_main else Silent(),
            text_column=args.text_column,
            label_column=args.label_column,
            dist=dist,
        )
    except KeyboardInterrupt as exc:  # after the version was published, say so
        written = [v for v in store.versions() if v not in before]
        if written and dist.is_main:
            raise InterruptedAfterWrite(written[-1], store.current() == written[-1]) from exc
        raise
    finally:
        dist.close()
    if result is None:  # torchrun's other ranks: rank 0 reports for the run
        return 0
    metrics = result["metrics"]
    human = (
        f"trained {result['version']} in {result['seconds']:.0f}s on {result['device']}\n"
        f"  eval accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} "
        f"({result['rows']['eval']} rows, best epoch {result['best_epoch']})\n"
        f"  {calibration_line(result['calibration'])}\n"
        f"  path {result['path']}\n"
        f"  promoted: {'yes' if result['promoted'] else 'no'}"
        + (f" ({result['promotion']['reason']})" if result["promotion"] else "")
    )
    emit(success(result), args.json, human)
    return 0


def calibration_line(calibration: dict) -> str:
    """One line on the new version's temperature and held-out ECE, for a person."""
    if not calibration["calibrated"]:
        return f"not calibrated: {calibration['reason']} (temperature 1)"
    return (
        f"temperature {calibration['temperature']:g}: held-out ECE "
        f"{calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}"
    )


def _check(args: argparse.Namespace) -> int:
    report = check_rows(
        args.data,
        args.eval_data,
        train_only=args.train_only,
        seed=args.seed,
        text_column=args.text_column,
        label_column=args.label_column,
    )
    lines = [f"{report.train_rows} training rows, {report.eval_rows} eval rows"] + [
        f"  {f.role:<10} {f.path}: {f.rows} rows {f.labels}" for f in report.files
    ]
    emit(success(report.to_json()), args.json, "\n".join(lines))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    store = _store(args)
    device = _device(args.device)
    rows = read_exports(args.data, args.text_column, args.label_column)
    classifier = Classifier.load(args.model, store=store, device=str(device))
    report = evaluate(classifier, rows)
    report["model"] = classifier.version
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        args.plot.write_bytes(confusion_matrix_png(report, title=f"{classifier.version}"))
        report["plot"] = str(args.plot)
    calibration = report["calibration"]
    lines = [
        f"{classifier.version} on {report['n']} rows: accuracy {report['accuracy']:.3f}, "
        f"macro-F1 {report['macro_f1']:.3f}",
        f"  ECE ({calibration['bins']} bins) {calibration['ece']:.4f} with temperature "
        f"{calibration['temperature']:g} ({calibration['ece_uncalibrated']:.4f} without)",
    ] + [
        f"  {label:<24} P {m['precision']:.3f}  R {m['recall']:.3f}  "
        f"F1 {m['f1']:.3f}  n={m['support']}"
        for label, m in report["per_class"].items()
    ]
    emit(success(report), args.json, "\n".join(lines))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from training.demo import run_demo

    run_demo(
        args.out,
        ModelStore(cli_support.model_dir()),
        lambda line: emit({}, False, line),
        device=_device(None),
        base=cli_support.base_model(),
    )
    return 0


def _wants_json(argv: list[str]) -> bool:
    """``--json`` was asked for (looked up before parsing, so usage errors honour it too)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (see :mod:`training.contract`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    os.umask(0o077)  # model versions are private to the user who trains: 0600 / 0700
    command = next((a for a in argv if not a.startswith("-")), "")
    commands = {"train": _train, "check": _check, "evaluate": _evaluate, "demo": _demo}
    with sigterm_interrupts():
        try:
            args = _parser().parse_args(argv)
            configure()
            if not Dist.from_env(os.environ).is_main:  # rank 0 speaks for a torchrun run
                logging.getLogger().setLevel(logging.WARNING)
            return commands[args.command](args)
        except (Exception, KeyboardInterrupt) as exc:  # KeyboardInterrupt: Ctrl-C or SIGTERM
            failure = classify(exc, command)
    fail(failure.human)
    if _wants_json(argv) and Dist.from_env(os.environ).is_main:
        emit(failure.to_json(), True, "")
    return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
