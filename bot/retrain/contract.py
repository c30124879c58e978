"""The training CLI's contract from the bot's side: a retrain's inputs rendered as ``train``'s
arguments (:class:`TrainRequest`), its JSON result typed once (:class:`TrainResult`)."""

from __future__ import annotations

import argparse
import json
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.exports import DEFAULT_SEED, Problem, RowsReport, check_rows

RUN_FLAGS = ("--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes")
"""How the bot always runs ``train``: promote when not worse, machine-readable progress and
result, and stop when the bot dies (its stdin closes)."""


def reader_options(options: Sequence[str]) -> dict[str, Any]:
    """The ``HEED_RETRAIN_ARGS`` options (unabbreviated) that change which rows ``train`` reads."""
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
    corrections (they never judge) and the reviewed suspects (``overrides``), or the bundled
    sample; ``options``: ``HEED_RETRAIN_ARGS``."""

    data: tuple[Path, ...]
    eval_data: tuple[Path, ...] = ()
    corrections: Path | None = None
    bundled_sample: bool = False
    base: str | None = None
    options: tuple[str, ...] = ()
    promote: bool = True
    """False for a version meant to shadow the serving one: written, never promoted."""
    overrides: Path | None = None  # reviewed suspects: they relabel the export rows they name

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
            args += ["--overrides", str(self.overrides)] if self.overrides else []
        if self.base:
            args += ["--base", self.base]
        flags = RUN_FLAGS if self.promote else tuple(f for f in RUN_FLAGS if f != "--promote")
        return [*args, *flags, *self.options]

    def check(self) -> RowsReport:
        """Read and split the data as ``train`` will. Raises ``classifier.exports.DataError``."""
        data, train_only, eval_data = self.files()
        return check_rows(
            data,
            eval_data or None,
            train_only=train_only or None,
            overrides=[self.overrides] if self.overrides else None,
            **reader_options(self.options),
        )


ERROR_KINDS = ("data", "base_model", "device", "model", "usage", "interrupted", "internal")
"""Failure kinds the training CLI reports; anything else is read as ``internal``."""
MAX_REASON_CHARS = 400
NUMBER = (int, float)


@dataclass(frozen=True)
class TrainResult:
    """What one training run said: the new version, its metrics, promotion and calibration; or
    its error ``kind`` (:data:`ERROR_KINDS`, ``killed``, ``no_result``) and every bad row."""

    ok: bool
    kind: str | None = None
    message: str = ""
    problems: tuple[Problem, ...] = ()
    version: str | None = None
    path: Path | None = None  # the version's directory (its figures are there)
    promoted: bool = False
    promotion_reason: str | None = None
    labels: tuple[str, ...] = ()  # the new model's labels, in confusion-matrix order
    accuracy: float = 0.0
    macro_f1: float = 0.0
    per_class: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """{label: {precision, recall, f1, support}}."""
    confusion_matrix: tuple[tuple[int, ...], ...] = ()  # rows: true, columns: predicted
    eval_split: str | None = None  # "given" (HEED_EVAL_DATA) or how HEED_TRAIN_DATA was split
    eval_rows: int = 0
    temperature: float | None = None  # None: the run reported no calibration
    calibrated: bool = False
    calibration_reason: str = ""
    ece_before: float | None = None
    ece_after: float | None = None

    def figure(self, name: str) -> Path | None:
        """A PNG the run wrote into the version directory (e.g. ``confusion_matrix.png``)."""
        file = self.path / name if self.path is not None else None
        return file if file and file.is_file() else None

    def stored_metrics(self) -> dict[str, Any]:
        """The metrics as a job row keeps them."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": {label: dict(m) for label, m in self.per_class.items()},
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
            "labels": list(self.labels),
        }


def last_json_line(path: Path) -> dict[str, Any] | None:
    """The last non-empty line of ``path`` parsed as a JSON object, or None."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        value = json.loads(next((line for line in reversed(lines) if line.strip()), "null"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def parse_result(payload: dict[str, Any] | None, returncode: int) -> TrainResult:
    """A finished child's result from its last JSON object (None: it wrote none) and exit code."""
    payload = payload or {}
    if payload.get("ok") is True and returncode == 0:
        return _success(payload)
    error = checked(payload.get("error"), dict)
    if payload.get("ok") is False and error is not None:
        kind = error.get("kind") if error.get("kind") in ERROR_KINDS else "internal"
        problems = tuple(
            Problem(
                str(p.get("file") or "?"),
                checked(p.get("line"), int, 0),
                str(p.get("reason") or ""),
            )
            for p in checked(error.get("problems"), list, [])
            if isinstance(p, dict)
        )
        return TrainResult(False, kind, str(error.get("message") or ""), problems)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return TrainResult(ok=False, kind="killed", message=name)
    return TrainResult(ok=False, kind="no_result", message=f"exit code {returncode}")


def checked(value: object, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """``value`` when it is a ``kind`` (a bool is no number), else ``default``: the child's
    output is never trusted blindly."""
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    return default


def _success(payload: dict[str, Any]) -> TrainResult:
    metrics = checked(payload.get("metrics"), dict, {})
    calibration = checked(payload.get("calibration"), dict, {})
    path = checked(payload.get("path"), str)
    return TrainResult(
        ok=True,
        version=checked(payload.get("version"), str),
        path=Path(path) if path else None,
        promoted=checked(payload.get("promoted"), bool, False),
        promotion_reason=checked(checked(payload.get("promotion"), dict, {}).get("reason"), str),
        labels=tuple(str(x) for x in checked(payload.get("labels"), list, [])),
        accuracy=checked(metrics.get("accuracy"), NUMBER, 0.0),
        macro_f1=checked(metrics.get("macro_f1"), NUMBER, 0.0),
        per_class={
            str(label): {
                str(k): v for k, v in checked(m, dict, {}).items() if checked(v, NUMBER) is not None
            }
            for label, m in checked(metrics.get("per_class"), dict, {}).items()
        },
        confusion_matrix=tuple(
            tuple(int(n) for n in row if checked(n, NUMBER) is not None)
            for row in checked(metrics.get("confusion_matrix"), list, [])
            if isinstance(row, list)
        ),
        eval_split=checked(payload.get("eval_split"), str),
        eval_rows=checked(checked(payload.get("rows"), dict, {}).get("eval"), int, 0),
        temperature=checked(calibration.get("temperature"), NUMBER),
        calibrated=checked(calibration.get("calibrated"), bool, False),
        calibration_reason=str(calibration.get("reason") or ""),
        ece_before=checked(calibration.get("ece_before"), NUMBER),
        ece_after=checked(calibration.get("ece_after"), NUMBER),
    )


def _clip(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def failure_reason(outcome: TrainResult, rename: dict[str, str] | None = None) -> str:
    """One line for an admin about a failed run, chosen by the error kind; ``rename`` maps file
    paths to the names an admin should see (the temporary corrections export to its name)."""
    message = outcome.message
    for path, name in (rename or {}).items():
        message = message.replace(path, name)
    if outcome.kind == "data":
        if not outcome.problems:
            return _clip(f"the training data is invalid: {message}")
        first = outcome.problems[0]
        shown = Problem((rename or {}).get(first.file, first.file), first.line, first.reason)
        more = len(outcome.problems) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        return _clip(f"the training data is invalid: {shown}{tail}")
    reasons = {
        "base_model": f"the base model cannot be loaded: {message}",
        "device": f"the training device is not usable: {message}",
        "model": f"the serving model could not be loaded to compare with: {message}",
        "usage": f"the training arguments were refused (check HEED_RETRAIN_ARGS): {message}",
        "interrupted": "training was interrupted: "
        + (message.removeprefix("interrupted").lstrip(": ") or "no model version was written"),
        "killed": f"training was killed by {message} (out of memory?) before it finished",
        "no_result": f"training ended without a result ({message})",
    }
    return _clip(reasons.get(outcome.kind or "", f"training failed: {message}"))
