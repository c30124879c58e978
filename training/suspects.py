"""Suspected label errors: score every row out of fold, then rank by confident learning.

1. The rows are dealt into ``folds`` stratified folds. Each fold is held out once while the
   default recipe (:func:`training.few_shot.choose_recipe`: standard or few-shot) learns from
   the others, so every row gets class probabilities from a model that never saw it.
2. Confident learning (Northcutt, Jiang & Chuang, 2021): each class ``j`` gets the threshold
   ``t_j``, the mean probability of ``j`` over the rows labelled ``j`` (its mean
   self-confidence). A row is a suspect when the model finds another label likelier than the
   given one and the given label's probability is under its threshold (the model doubts the
   row more than it doubts a typical row of that label); the likeliest label is suggested, and
   suspects are ranked by how unlikely the model finds the given label (``score`` = 1 - its
   out-of-fold probability).

Fewer epochs than a training run (:class:`SuspectsSchedule`): the out-of-fold probabilities
only have to rank rows, and five fits must run in minutes on a CPU (benchmarks/README.md,
"Suspected label errors").
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from classifier import Classifier
from classifier.exports import (
    DataError,
    Example,
    Problem,
    apply_overrides,
    check_labels,
    read_exports,
)
from training.config import TrainConfig
from training.few_shot import FewShotSchedule, choose_recipe, train_few_shot
from training.finetune import train
from training.progress import Progress

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 5
MAX_FOLDS = 20


@dataclass(frozen=True)
class SuspectsSchedule:
    """Epochs of each fold's fit, capped from the training defaults (4 standard, 10 few-shot)
    to keep five fits of 1,000 rows under 5 minutes on 2 CPU cores; chosen by the runs in
    benchmarks/README.md ("Suspected label errors")."""

    standard_epochs: int = 2
    few_shot_epochs: int = 2


@dataclass(frozen=True)
class Suspect:
    """A row whose given label the out-of-fold model confidently disagrees with."""

    file: str
    line: int
    text: str
    given: str
    suggested: str
    score: float

    def to_json(self) -> dict:
        """The row as the ``suspects`` list of ``python -m training suspects --json`` has it."""
        return {
            "file": self.file,
            "line": self.line,
            "text": self.text,
            "given": self.given,
            "suggested": self.suggested,
            "score": round(self.score, 6),
        }


def assign_folds(rows: Sequence[Example], folds: int, seed: int) -> list[int]:
    """Each row's fold, stratified: every label's rows are shuffled (seeded) and dealt in turn,
    continuing where the previous label stopped, so folds differ in size by at most one row
    and a label with fewer rows than folds still has rows left in every training part."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_label[row.label].append(index)
    rng = random.Random(seed)
    fold_of = [0] * len(rows)
    dealt = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for index in indices:
            fold_of[index] = dealt % folds
            dealt += 1
    return fold_of


def check_suspects_input(rows: Sequence[Example], folds: int) -> None:
    """:class:`DataError` unless every label has two rows and there are rows for ``folds``
    folds (each fold must hold a row out and keep every label in its training part)."""
    check_labels(rows, minimum=2)
    if len(rows) < folds:
        raise DataError([Problem.at(rows[0].source, f"{len(rows)} rows cannot fill {folds} folds")])


def fold_probabilities(
    train_rows: Sequence[Example],
    held_rows: Sequence[Example],
    *,
    base: str,
    config: TrainConfig,
    device: torch.device,
    progress: Progress,
    schedule: SuspectsSchedule,
) -> tuple[list[str], torch.Tensor]:
    """Fit the default recipe on ``train_rows``; its labels and ``held_rows``' probabilities.

    The standard recipe keeps its best epoch on ``held_rows`` (as a training run keeps it on
    its eval split); with two epochs that choice is all the held-out labels steer."""
    recipe = choose_recipe(config.recipe, train_rows, base, config.pooling)
    if recipe == "few-shot":
        outcome = train_few_shot(
            train_rows,
            held_rows,
            base=base,
            config=config,
            device=device,
            progress=progress,
            schedule=FewShotSchedule(epochs=schedule.few_shot_epochs),
        )
        logits = outcome.eval_logits
    else:
        outcome = train(
            train_rows,
            held_rows,
            base=base,
            config=replace(config, epochs=schedule.standard_epochs),
            device=device,
            progress=progress,
        )
        probe = Classifier(
            outcome.model,
            outcome.tokenizer,
            version="(fold)",
            device=device,
            max_length=config.max_length,
        )
        logits = probe.logits([row.text for row in held_rows])
    assert logits is not None  # both recipes score the held-out rows
    return outcome.labels, torch.softmax(logits.float(), dim=1)


def out_of_fold_probabilities(
    rows: Sequence[Example],
    *,
    folds: int,
    base: str,
    config: TrainConfig,
    device: torch.device,
    progress: Progress | None = None,
    schedule: SuspectsSchedule | None = None,
) -> tuple[list[str], torch.Tensor]:
    """Every row's class probabilities from the fold fit that held it out: ``(labels, rows x
    labels)``, labels sorted. Raises ``DataError`` as :func:`check_suspects_input`."""
    check_suspects_input(rows, folds)
    progress = progress or Progress()
    schedule = schedule or SuspectsSchedule()
    labels = sorted({row.label for row in rows})
    probs = torch.zeros(len(rows), len(labels))
    fold_of = assign_folds(rows, folds, config.seed)
    for fold in range(folds):
        held = [i for i, f in enumerate(fold_of) if f == fold]
        kept = [i for i, f in enumerate(fold_of) if f != fold]
        progress.fold(fold=fold + 1, folds=folds)
        log.info(
            "fold %d/%d: learning from %d rows, scoring %d", fold + 1, folds, len(kept), len(held)
        )
        fold_labels, fold_probs = fold_probabilities(
            [rows[i] for i in kept],
            [rows[i] for i in held],
            base=base,
            config=config,
            device=device,
            progress=progress,
            schedule=schedule,
        )
        columns = [labels.index(label) for label in fold_labels]
        probs[torch.tensor(held)[:, None], torch.tensor(columns)[None, :]] = fold_probs
    return labels, probs


def confident_learning(
    probs: torch.Tensor, given: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(suspect, suggested, score)`` per row from out-of-fold ``probs`` (rows x classes) and
    the ``given`` class indices. Each class's threshold is its mean self-confidence (the mean
    probability of the class over the rows given it); a row is a suspect when another class is
    likelier than its given one *and* its given class's probability is under that class's
    threshold; ``suggested`` is the likeliest class, ``score`` = 1 - the given class's
    probability. (The confident joint's off-diagonal also needs the other class above *its*
    threshold: over 77 intents it missed flipped rows whose probability was spread, 81 % of
    the flips in the top N against 89 % for this rule on the same probabilities.)"""
    classes = probs.shape[1]
    thresholds = torch.full((classes,), float("inf"))
    for j in range(classes):
        mine = given == j
        if mine.any():
            thresholds[j] = probs[mine, j].mean()
    rows = torch.arange(len(given))
    mine = probs[rows, given]
    suggested = probs.argmax(dim=1)
    suspect = (suggested != given) & (mine < thresholds[given])
    return suspect, suggested, 1.0 - mine


def rank_suspects(
    rows: Sequence[Example], labels: Sequence[str], probs: torch.Tensor
) -> list[Suspect]:
    """The suspects among ``rows`` (given their out-of-fold ``probs``), most suspect first."""
    index = {label: i for i, label in enumerate(labels)}
    given = torch.tensor([index[row.label] for row in rows], dtype=torch.long)
    suspect, suggested, score = confident_learning(probs, given)
    found = []
    for i in torch.nonzero(suspect).flatten().tolist():
        where = Problem.at(rows[i].source, "")
        found.append(
            Suspect(
                file=where.file,
                line=where.line,
                text=rows[i].text,
                given=rows[i].label,
                suggested=labels[int(suggested[i])],
                score=float(score[i]),
            )
        )
    # Ties (equal scores) keep the export's order, so a run repeats exactly.
    return sorted(found, key=lambda s: -s.score)


def find_suspects(
    data: Sequence[Path],
    *,
    overrides: Sequence[Path] | None = None,
    folds: int = DEFAULT_FOLDS,
    base: str,
    config: TrainConfig,
    device: torch.device,
    progress: Progress | None = None,
    schedule: SuspectsSchedule | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> dict:
    """``python -m training suspects``'s result: the rows of ``data`` (relabelled by
    ``overrides``, which also count as rows when they match none) scored out of fold, and the
    suspects among them, most suspect first. A reviewed row (its text in ``overrides``) is
    learnt from but never listed again. Raises ``DataError`` for bad input."""
    started = time.monotonic()
    rows = read_exports(data, text_column, label_column)
    reviewed = read_exports(overrides, text_column, label_column) if overrides else []
    rows, unmatched = apply_overrides(rows, reviewed)
    rows += unmatched
    labels, probs = out_of_fold_probabilities(
        rows,
        folds=folds,
        base=base,
        config=config,
        device=device,
        progress=progress,
        schedule=schedule,
    )
    seen = {row.text for row in reviewed}
    found = [s for s in rank_suspects(rows, labels, probs) if s.text not in seen]
    return {
        "rows": len(rows),
        "folds": folds,
        "labels": labels,
        "suspects": [s.to_json() for s in found],
        "device": str(device),
        "seconds": round(time.monotonic() - started, 2),
    }
