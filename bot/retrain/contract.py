"""The training CLI's JSON contract, read from the bot's side (the bot never imports training).

``python -m training train --json`` ends every run with one JSON object as its last stdout line:
``{"ok": true, "version": ..., "metrics": ...}`` on success, or
``{"ok": false, "error": {"kind", "message", "problems": [{"file", "line", "reason"}]}}``
(``docs/ARCHITECTURE.md`` has the whole contract). This module turns that object — or its
absence, when the child was killed before it could write one — into a :class:`TrainingOutcome`
with one line for an admin. Wording is chosen here by ``kind``, never by matching text.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR_KINDS = ("data", "base_model", "device", "model", "usage", "interrupted", "internal")
"""Failure kinds the training CLI reports; anything else is read as ``internal``."""
MAX_REASON_CHARS = 400


@dataclass(frozen=True)
class Problem:
    """One bad row of a training export."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class TrainingOutcome:
    """What one training run said: its result (``ok``) or its typed error."""

    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    """The error kind (one of :data:`ERROR_KINDS`, ``killed`` or ``no_result``)."""
    message: str = ""
    problems: tuple[Problem, ...] = ()


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


def _problems(raw: object) -> tuple[Problem, ...]:
    if not isinstance(raw, list):
        return ()
    problems = []
    for item in raw:
        if isinstance(item, dict):
            line = item.get("line")
            problems.append(
                Problem(
                    str(item.get("file") or "?"),
                    line if isinstance(line, int) else 0,
                    str(item.get("reason") or ""),
                )
            )
    return tuple(problems)


def read_outcome(payload: dict[str, Any] | None, returncode: int) -> TrainingOutcome:
    """The outcome of a finished child from its last JSON object and exit code."""
    if payload is not None and payload.get("ok") is True and returncode == 0:
        return TrainingOutcome(ok=True, result=payload)
    error = payload.get("error") if payload is not None else None
    if payload is not None and payload.get("ok") is False and isinstance(error, dict):
        kind = error.get("kind") if error.get("kind") in ERROR_KINDS else "internal"
        return TrainingOutcome(
            ok=False,
            kind=kind,
            message=str(error.get("message") or ""),
            problems=_problems(error.get("problems")),
        )
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return TrainingOutcome(ok=False, kind="killed", message=name)
    return TrainingOutcome(ok=False, kind="no_result", message=f"exit code {returncode}")


def _clip(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def failure_reason(outcome: TrainingOutcome, rename: dict[str, str] | None = None) -> str:
    """One line for an admin about a failed run, chosen by the error kind.

    ``rename`` maps file paths to the names an admin should see (e.g. the temporary
    corrections export to its file name).
    """
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
