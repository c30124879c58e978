"""The command line of ``python -m training``: subcommands and flags, each with its help (the
reference that ``--help`` prints). Running them: :mod:`training.__main__`."""

from __future__ import annotations

import argparse
from pathlib import Path

from classifier.exports import EVAL_FRACTION
from classifier.pooling import POOLING_CHOICES
from classifier.store import DEFAULT_TASK
from training.config import TrainConfig
from training.contract import EXIT_CODES, ArgumentParser
from training.few_shot import FEW_SHOT_BELOW, RECIPES
from training.pipeline import DEFAULT_SAMPLE
from training.suspects import DEFAULT_FOLDS

DEFAULTS = TrainConfig()


def build_parser() -> ArgumentParser:
    """The parser of ``python -m training``: every subcommand and flag, each with its help."""
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
    _overrides_option(train)
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
    train.add_argument(
        "--logit-adjustment",
        type=float,
        default=DEFAULTS.logit_adjustment,
        metavar="TAU",
        help="add -TAU x log(each label's share of the training rows) to the logits the "
        "version serves, 0 to 10 (rare classes; post-hoc, Menon et al. 2021; 0: off; "
        "default: %(default)s)",
    )
    train.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    train.add_argument(
        "--train-embeddings", action="store_true", help="also update the word-embedding matrix"
    )
    _column_options(train)
    train.add_argument("--promote", action="store_true", help="serve it if not worse than current")
    _run_options(train, "step and epoch")

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
    _overrides_option(check)
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

    _suspects_parser(sub)

    demo = sub.add_parser("demo", help="train the default model if needed, then draw heatmaps")
    demo.add_argument("--out", type=Path, default=Path("out"), help="where heatmaps go")
    return parser


def _suspects_parser(sub: argparse._SubParsersAction) -> None:
    suspects = sub.add_parser(
        "suspects",
        help="rank the rows whose label looks wrong (out-of-fold confident learning)",
    )
    suspects.add_argument(
        "--data",
        nargs="+",
        type=Path,
        required=True,
        metavar="FILE",
        help="labelled exports (.csv, .tsv or .jsonl) to search for label errors",
    )
    _overrides_option(suspects)
    suspects.add_argument(
        "--folds",
        type=int,
        default=DEFAULT_FOLDS,
        help="fits of the default recipe, each scoring the rows it did not learn from, 2 to "
        "20 (default: %(default)s)",
    )
    suspects.add_argument("--base", help="base model: directory, hub id, store version")
    _seed_option(suspects, "seeds the folds, the batch order and the heads' weights")
    suspects.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    _column_options(suspects)
    _run_options(suspects, "fold, step and epoch")


def _run_options(parser: argparse.ArgumentParser, events: str) -> None:
    """How a long run reports and ends: --progress (JSON lines per ``events``), --json,
    --task and --stop-when-stdin-closes (what the bot passes to its training children)."""
    parser.add_argument(
        "--progress",
        choices=["bar", "jsonl"],
        default="bar",
        help=f"bar: a progress bar for people; jsonl: one JSON object per {events} on "
        "stderr, for machines (default: %(default)s)",
    )
    _json_option(parser)
    _task_option(parser)
    parser.add_argument(
        "--stop-when-stdin-closes",
        action="store_true",
        help="stop as if interrupted when standard input closes (its caller died)",
    )


def _overrides_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overrides",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="reviewed labels (e.g. suspects an admin changed): each relabels the --data and "
        "--train-only rows with the same text; one matching none is learnt as a train-only row",
    )


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
