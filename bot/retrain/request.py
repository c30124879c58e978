"""One retrain's inputs as one value: it renders the training command's arguments, and checks
the data exactly as that command would read and split it (in-process, without torch)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from classifier.exports import DEFAULT_SEED, RowsReport, check_rows

RUN_FLAGS = ("--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes")
"""How the bot always runs ``train``: promote when not worse, machine-readable progress and
result, and stop when the bot dies (its stdin closes)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


@dataclass(frozen=True)
class ReaderOptions:
    """The options of ``HEED_RETRAIN_ARGS`` that change which rows a run reads and holds out."""

    seed: int = DEFAULT_SEED
    text_column: str = "text"
    label_column: str = "label"

    @classmethod
    def parse(cls, options: Sequence[str]) -> ReaderOptions:
        """Read them from the training options, spelled as ``train`` accepts them (no
        abbreviations); the others are left to ``train``, which refuses a bad one."""
        parser = _Parser(add_help=False, allow_abbrev=False)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        try:
            known, _ = parser.parse_known_args(list(options))
        except ValueError:
            return cls()  # a malformed value: the run itself fails with a usage error
        return cls(known.seed, known.text_column, known.label_column)


@dataclass(frozen=True)
class TrainRequest:
    """What one retrain trains on and how.

    ``data`` are the exports (``HEED_TRAIN_DATA``), ``eval_data`` the fixed held-out exports
    (``HEED_EVAL_DATA``) that judge the new model when given (else a split of ``data``),
    ``corrections`` the labelled rows from feedback, for training only: they never judge.
    ``bundled_sample`` trains on the sample shipped with Heed instead (an empty store's first
    model). ``options`` are ``HEED_RETRAIN_ARGS``, passed through.
    """

    data: tuple[Path, ...]
    eval_data: tuple[Path, ...] = ()
    corrections: Path | None = None
    bundled_sample: bool = False
    base: str | None = None
    options: tuple[str, ...] = ()

    def files(self) -> tuple[list[Path], list[Path], list[Path]]:
        """The exports as the run gets them: ``--data``, ``--train-only``, ``--eval-data``.
        Judged on ``eval_data`` when given (the corrections then simply train), else on a
        split of ``data`` that the corrections stay out of."""
        extra = [self.corrections] if self.corrections else []
        if self.eval_data:
            return [*self.data, *extra], [], list(self.eval_data)
        return list(self.data), extra, []

    def train_args(self) -> list[str]:
        """The arguments after ``python -m training``."""
        data, train_only, eval_data = self.files()
        args = ["train"]
        if self.bundled_sample:
            args.append("--bundled-sample")
        else:
            args += ["--data", *map(str, data)]
            args += ["--train-only", *map(str, train_only)] if train_only else []
            args += ["--eval-data", *map(str, eval_data)] if eval_data else []
        if self.base:
            args += ["--base", self.base]
        return [*args, *RUN_FLAGS, *self.options]

    def check(self) -> RowsReport:
        """Read and split the data as :meth:`train_args` makes ``train`` do: the rows per
        label, per file and per role. Raises :class:`classifier.exports.DataError`."""
        reader = ReaderOptions.parse(self.options)
        data, train_only, eval_data = self.files()
        return check_rows(
            data,
            eval_data or None,
            seed=reader.seed,
            train_only=train_only or None,
            text_column=reader.text_column,
            label_column=reader.label_column,
        )
