"""One retrain's inputs as one value: it renders the training command's arguments, and checks
the data exactly as that command would read and split it (in-process, without torch)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.exports import DEFAULT_SEED, RowsReport, check_rows

RUN_FLAGS = ("--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes")
"""How the bot always runs ``train``: promote when not worse, machine-readable progress and
result, and stop when the bot dies (its stdin closes)."""


def reader_options(options: Sequence[str]) -> dict[str, Any]:
    """The options of ``HEED_RETRAIN_ARGS`` that change which rows a run reads and holds out,
    spelled as ``train`` accepts them (no abbreviations), as :func:`check_rows` takes them."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    try:
        return vars(parser.parse_known_args(list(options))[0])
    except argparse.ArgumentError:  # a malformed value: the run itself fails with a usage error
        return vars(parser.parse_args([]))


@dataclass(frozen=True)
class TrainRequest:
    """What one retrain trains on: the exports, the held-out exports that judge when given, the
    corrections (they never judge) or the bundled sample; ``options``: ``HEED_RETRAIN_ARGS``."""

    data: tuple[Path, ...]
    eval_data: tuple[Path, ...] = ()
    corrections: Path | None = None
    bundled_sample: bool = False
    base: str | None = None
    options: tuple[str, ...] = ()

    def files(self) -> tuple[list[Path], list[Path], list[Path]]:
        """``--data``, ``--train-only``, ``--eval-data``: judged on ``eval_data`` when given, else
        on a split of ``data`` that the corrections stay out of."""
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
        data, train_only, eval_data = self.files()
        return check_rows(
            data, eval_data or None, train_only=train_only or None, **reader_options(self.options)
        )
