"""CLI: ``python -m training train|check|evaluate|suspects|demo`` (``--json`` for machines).

Outcome kinds, exit codes and the JSON shapes: :mod:`training.contract` (written out in
``docs/ARCHITECTURE.md``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import torch

from classifier import Classifier, ModelStore, cli_support
from classifier.cli_support import configure, configure_torch, emit, exit_now, fail
from classifier.device import pick_device
from classifier.exports import check_rows, read_exports
from classifier.store import task_root
from training.cli import build_parser
from training.config import TrainConfig
from training.contract import (
    DeviceError,
    InterruptedAfterWrite,
    UsageError,
    classify,
    sigterm_interrupts,
    success,
)
from training.distributed import Dist
from training.evaluate import confusion_matrix_png, evaluate
from training.pipeline import DEFAULT_SAMPLE, resolve_base, run_train
from training.progress import Progress, Silent
from training.suspects import MAX_FOLDS, find_suspects
from training.watchdog import stop_when_stdin_closes


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
    if not 0 <= args.logit_adjustment <= 10:
        raise UsageError("--logit-adjustment must be between 0 and 10")


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
        logit_adjustment=args.logit_adjustment,
        recipe=args.recipe,
    )
    before = set(store.versions())
    try:
        result = run_train(
            [DEFAULT_SAMPLE] if args.bundled_sample else args.data,
            eval_data=args.eval_data,
            train_only=args.train_only,
            overrides=args.overrides,
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
        overrides=args.overrides,
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


def _suspects(args: argparse.Namespace) -> int:
    if not 2 <= args.folds <= MAX_FOLDS:
        raise UsageError(f"--folds must be between 2 and {MAX_FOLDS}")
    store = _store(args)
    if args.stop_when_stdin_closes:
        stop_when_stdin_closes()
    result = find_suspects(
        args.data,
        overrides=args.overrides,
        folds=args.folds,
        base=resolve_base(args.base or cli_support.base_model(), store),
        config=TrainConfig(seed=args.seed),
        device=_device(args.device),
        progress=Progress(jsonl=args.progress == "jsonl"),
        text_column=args.text_column,
        label_column=args.label_column,
    )
    found = result["suspects"]
    lines = [f"{len(found)} suspected label errors in {result['rows']} rows ({args.folds} folds)"]
    lines += [
        f"  {s['file']}:{s['line']}: {s['given']!r} -> {s['suggested']!r} ({s['score']:.3f})"
        for s in found
    ]
    emit(success(result), args.json, "\n".join(lines))
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
    commands = {
        "train": _train,
        "check": _check,
        "evaluate": _evaluate,
        "suspects": _suspects,
        "demo": _demo,
    }
    with sigterm_interrupts():
        try:
            args = build_parser().parse_args(argv)
            configure()
            configure_torch()
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
    exit_now(main())
