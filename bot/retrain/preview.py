"""What a retrain would go in with, before it starts: the exports' rows per label (read and split
as the run will), the corrections since the serving model and who gave them."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.database import Database
from bot.database.exports import write_jsonl, write_private
from bot.retrain.runner import CORRECTIONS_FILENAME, RetrainRunner
from classifier.exports import DataError, FileRows, Problem, RowsReport


@dataclass(frozen=True)
class Preview:
    """A retrain's inputs as an admin should see them before starting it."""

    serving: str | None
    task: str = "default"
    report: RowsReport | None = None
    """The rows per file and per role, when the data is valid."""
    corrections: int = 0
    """Labelled rows from feedback that go in (all of them)."""
    new_labels: dict[str, int] = field(default_factory=dict)
    """Rows per label among the corrections answered since the serving model was made."""
    new_by: dict[str, int] = field(default_factory=dict)
    """Who gave those (user id -> rows)."""
    held: int = 0
    problems: tuple[Problem, ...] = ()
    """Every data problem (the corrections export named ``corrections``)."""

    @property
    def files(self) -> tuple[FileRows, ...]:
        """The exports that go in, with their role and rows per label."""
        return self.report.files if self.report is not None else ()


def _since(serving_created: str | None) -> str | None:
    """A model's ``created`` (heed.json) as a stored time, for comparing with answers."""
    try:
        moment = datetime.fromisoformat(serving_created or "")
    except (TypeError, ValueError):  # heed.json is read as it is: absent, or not a time
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def build_preview(
    runner: RetrainRunner, db: Database, serving: str | None, serving_created: str | None
) -> Preview:
    """Check the exports and the corrections as the runner would pass them, and count what
    came in from feedback since the serving model was made."""
    labelled = db.predictions.labelled(task=runner.task)
    since = _since(serving_created)
    fresh = [row for row in labelled if since is None or row.answered > since]
    by: Counter[str] = Counter(user for row in fresh for user in row.users)
    base = {
        "serving": serving,
        "task": runner.task,
        "corrections": len(labelled),
        "new_labels": dict(sorted(Counter(r.label for r in fresh).items())),
        "new_by": dict(by.most_common()),
        "held": db.predictions.counts(runner.task)["held"],
    }
    with tempfile.TemporaryDirectory(prefix="heed-preview-") as workdir:
        corrections = Path(workdir) / CORRECTIONS_FILENAME if labelled else None
        if corrections is not None:
            rows = [(row.text, row.label) for row in labelled]
            write_private(corrections, lambda handle: write_jsonl(handle, rows))
        try:
            report = runner.request(corrections).check()
        except DataError as exc:
            renamed = {str(corrections): "corrections"}
            return Preview(
                **base,
                problems=tuple(
                    Problem(renamed.get(p.file, p.file), p.line, p.reason) for p in exc.problems
                ),
            )
    return Preview(**base, report=report)
