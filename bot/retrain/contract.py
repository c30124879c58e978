"""The training CLI's JSON contract, read from the bot's side (the bot never imports training):
the last stdout line of ``python -m training train --json`` (docs/ARCHITECTURE.md, "Command-line
contracts"), or its absence, typed once into a :class:`TrainResult`; and a failure worded in one
line for an admin, chosen by its ``kind``, never by matching text."""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.exports import Problem

ERROR_KINDS = ("data", "base_model", "device", "model", "usage", "interrupted", "internal")
"""Failure kinds the training CLI reports; anything else is read as ``internal``."""
MAX_REASON_CHARS = 400


@dataclass(frozen=True)
class TrainResult:
    """What one training run said, typed: on success the new version, its held-out metrics,
    its promotion and calibration; on failure its error ``kind`` (one of :data:`ERROR_KINDS`,
    ``killed`` or ``no_result``), ``message`` and every bad row of a data error."""

    ok: bool
    kind: str | None = None
    message: str = ""
    problems: tuple[Problem, ...] = ()
    version: str | None = None
    path: Path | None = None
    """The version's directory (its figures are there)."""
    promoted: bool = False
    promotion_reason: str | None = None
    labels: tuple[str, ...] = ()
    """The new model's labels, in confusion-matrix order."""
    accuracy: float = 0.0
    macro_f1: float = 0.0
    per_class: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """{label: {precision, recall, f1, support}}."""
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    """Rows: true label, columns: predicted, in :attr:`labels` order."""
    eval_split: str | None = None
    """``given`` (``HEED_EVAL_DATA``) or how ``HEED_TRAIN_DATA`` was split."""
    eval_rows: int = 0
    temperature: float | None = None
    """The calibration temperature (None: the run reported no calibration)."""
    calibrated: bool = False
    calibration_reason: str = ""
    ece_before: float | None = None
    ece_after: float | None = None

    def figure(self, name: str) -> Path | None:
        """A PNG the run wrote into the version directory (e.g. ``confusion_matrix.png``)."""
        file = self.path / name if self.path is not None else None
        return file if file is not None and file.is_file() else None

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
    except OSError:
        return None
    for line in reversed(lines):
        if line.strip():
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def parse_result(payload: dict[str, Any] | None, returncode: int) -> TrainResult:
    """A finished child's result from its last JSON object (None: it wrote none) and exit code.
    Values of the wrong type read as absent: the child's output is never trusted blindly."""
    if payload is not None and payload.get("ok") is True and returncode == 0:
        return _success(payload)
    error = payload.get("error") if payload is not None else None
    if payload is not None and payload.get("ok") is False and isinstance(error, dict):
        kind = error.get("kind") if error.get("kind") in ERROR_KINDS else "internal"
        problems = tuple(
            Problem(str(p.get("file") or "?"), _count(p.get("line")), str(p.get("reason") or ""))
            for p in _list(error.get("problems"))
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


def _success(payload: dict[str, Any]) -> TrainResult:
    metrics, promotion = _mapping(payload.get("metrics")), _mapping(payload.get("promotion"))
    calibration = _mapping(payload.get("calibration"))
    path = _text(payload.get("path"))
    return TrainResult(
        ok=True,
        version=_text(payload.get("version")),
        path=Path(path) if path else None,
        promoted=payload.get("promoted") is True,
        promotion_reason=_text(promotion.get("reason")),
        labels=tuple(str(x) for x in _list(payload.get("labels"))),
        accuracy=_number(metrics.get("accuracy")) or 0.0,
        macro_f1=_number(metrics.get("macro_f1")) or 0.0,
        per_class={
            str(label): {str(k): v for k, v in _mapping(m).items() if _number(v) is not None}
            for label, m in _mapping(metrics.get("per_class")).items()
        },
        confusion_matrix=tuple(
            tuple(int(n) for n in row if _number(n) is not None)
            for row in _list(metrics.get("confusion_matrix"))
            if isinstance(row, list)
        ),
        eval_split=_text(payload.get("eval_split")),
        eval_rows=_count(_mapping(payload.get("rows")).get("eval")),
        temperature=_number(calibration.get("temperature")),
        calibrated=calibration.get("calibrated") is True,
        calibration_reason=str(calibration.get("reason") or ""),
        ece_before=_number(calibration.get("ece_before")),
        ece_after=_number(calibration.get("ece_after")),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


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
