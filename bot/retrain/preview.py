"""What a retrain would go in with, before it starts: the exports' rows per label (checked by
``python -m training check`` in a child, so the bot never imports ``training``), the
corrections since the serving model and who gave them, and the rows held for review."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.database import Database
from bot.database.exports import write_jsonl, write_private
from bot.retrain.child import child_env
from bot.retrain.contract import Problem, read_outcome
from bot.retrain.runner import RetrainRunner

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 120.0
MAX_PROBLEMS = 10


@dataclass(frozen=True)
class Preview:
    """A retrain's inputs as an admin should see them before starting it."""

    serving: str | None
    task: str = "default"
    """The task it would retrain (the Start button carries it)."""
    files: list[dict[str, Any]] = field(default_factory=list)
    """``python -m training check``'s files: path, role, rows, labels."""
    rows: dict[str, int] = field(default_factory=dict)
    eval_split: str | None = None
    corrections: int = 0
    """Labelled rows from feedback that go in (all of them)."""
    new_labels: dict[str, int] = field(default_factory=dict)
    """Rows per label among the corrections answered since the serving model was made."""
    new_by: dict[str, int] = field(default_factory=dict)
    """Who gave those (user id -> rows)."""
    held: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    error: str | None = None
    """Why the data could not be checked at all (not a data problem)."""

    @property
    def startable(self) -> bool:
        """No data problem and nothing stopped the check."""
        return not self.problems and self.error is None


def _since(serving_created: str | None) -> str | None:
    """A model's ``created`` (heed.json) as a stored time, for comparing with answers."""
    if not serving_created:
        return None
    try:
        moment = datetime.fromisoformat(serving_created)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def build_preview(
    runner: RetrainRunner,
    db: Database,
    serving: str | None,
    serving_created: str | None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> Preview:
    """Check the exports and the corrections as the runner would pass them, and count what
    came in from feedback since the serving model was made."""
    labelled = db.predictions.labelled(task=runner.task)
    since = _since(serving_created)
    fresh = [row for row in labelled if since is None or row.answered > since]
    by: Counter[str] = Counter(user for row in fresh for user in row.users)
    held = len(db.predictions.held(runner.task))
    base = {
        "serving": serving,
        "task": runner.task,
        "corrections": len(labelled),
        "new_labels": dict(sorted(Counter(r.label for r in fresh).items())),
        "new_by": dict(by.most_common()),
        "held": held,
    }
    with tempfile.TemporaryDirectory(prefix="heed-preview-") as workdir:
        corrections = None
        if labelled:
            corrections = Path(workdir) / "heed-corrections.jsonl"
            rows = [(row.text, row.label) for row in labelled]
            write_private(corrections, lambda handle: write_jsonl(handle, rows))
        cmd = runner.command(corrections)
        check = [sys.executable, "-m", "training", "check", *_data_args(cmd), "--json"]
        try:
            done = subprocess.run(
                check,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=child_env(runner.model_dir),
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Preview(**base, error=f"the data check did not finish: {exc}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            payload = json.loads(lines[-1]) if lines else None
        except ValueError:
            payload = None
        outcome = read_outcome(payload if isinstance(payload, dict) else None, done.returncode)
        if outcome.ok and outcome.result is not None:
            result = outcome.result
            return Preview(
                **base,
                files=list(result.get("files") or []),
                rows=dict(result.get("rows") or {}),
                eval_split=result.get("eval_split"),
            )
        if outcome.kind == "data":
            shown = [_renamed(p, corrections) for p in outcome.problems[:MAX_PROBLEMS]]
            return Preview(**base, problems=shown, problem_count=len(outcome.problems))
        log.warning("retrain preview: data check failed (%s): %s", outcome.kind, outcome.message)
        return Preview(**base, error=f"the data check failed: {outcome.message}")


CHECK_OPTIONS = (
    "--data",
    "--train-only",
    "--eval-data",
    "--seed",
    "--text-column",
    "--label-column",
)
"""The options of a training command that ``training check`` takes too (so it reads and splits
the data exactly as the run would, ``HEED_RETRAIN_ARGS`` included)."""


def _data_args(cmd: list[str]) -> list[str]:
    """The options of a training command that ``training check`` understands, with values."""
    out, keep = [], False
    for arg in cmd:
        if arg.startswith("--"):
            keep = arg.split("=", 1)[0] in CHECK_OPTIONS
        if keep:
            out.append(arg)
    return out


def _renamed(problem: Problem, corrections: Path | None) -> Problem:
    if corrections is not None and problem.file == str(corrections):
        return Problem("corrections", problem.line, problem.reason)
    return problem
