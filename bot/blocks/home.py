"""The App Home tab: the serving model, auto-tagging, retraining jobs, how to use Heed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.blocks.admin import counts_line, job_line, model_lines, running_line
from bot.blocks.classify import usage_text
from bot.blocks.common import Blocks, section, sections
from bot.slack_api.text import escape_and_shorten
from classifier.types import DEFAULT_EXPLAIN_METHOD

if TYPE_CHECKING:
    from bot.database import JobRecord
    from bot.database.records import RunningJob

FALLBACK_NOTE = (
    "Heed is serving an earlier model version because the current one cannot be loaded; "
    "admins see why here and in `/heed-admin status`."
)
DETAILS_NOTE = "_Why a job failed is shown to Heed admins only (`/heed-admin status`)._"


def home_view(
    version: str | None,
    metadata: Mapping[str, Any],
    autotag: Sequence[str],
    *,
    current: RunningJob | None = None,
    jobs: Sequence[JobRecord] = (),
    counts: Mapping[str, int] | None = None,
    warning: str | None = None,
    explain_method: str = DEFAULT_EXPLAIN_METHOD,
    details: bool = False,
    task: str | None = None,
    other_tasks: Sequence[Sequence[str]] = (),
    task_names: Sequence[str] = (),
) -> dict:
    """The App Home view: the default ``task``'s part (``warning`` first), the ``other_tasks``'
    sections, the jobs, how to use Heed. Failure reasons (server paths, lines of training data)
    only with ``details`` (the viewer is an admin)."""
    lines = model_lines(version, metadata)
    if task:
        lines.insert(0, f"*Task `{escape_and_shorten(task, 40)}`* (the default)")
    if warning:
        shown = escape_and_shorten(warning, 600) if details else FALLBACK_NOTE
        lines.insert(0, f":warning: {shown}")
    lines.append(autotag_line(autotag))
    if counts is not None:
        lines.append(counts_line(counts))
    view_blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Heed"}},
        *sections(lines),
        {"type": "divider"},
    ]
    for other in other_tasks:
        view_blocks += [*sections(list(other)), {"type": "divider"}]
    job_lines = [running_line(current)] if current is not None else []
    job_lines += [job_line(j, details) for j in jobs if current is None or j.id != current.id]
    if jobs and not details:
        job_lines.append(DETAILS_NOTE)
    view_blocks += sections(["*Retraining jobs*", *(job_lines or ["none yet"])])
    view_blocks += [{"type": "divider"}, section(usage_text(explain_method, task_names))]
    return {"type": "home", "blocks": view_blocks[:100]}


def autotag_line(channels: Sequence[str]) -> str:
    """Where auto-tagging is on (channel names, or links for channel IDs)."""
    where = ", ".join(c if c.startswith("#") else f"<#{c}>" for c in channels) or "no channels"
    return f"*Auto-tagging:* {where}"


def task_lines(
    name: str,
    version: str | None,
    metadata: Mapping[str, Any],
    channels: Sequence[str],
    last_job: JobRecord | None,
    details: bool = False,
) -> list[str]:
    """One more task on App Home: its model, labels and metrics, channels and last job."""
    last = job_line(last_job, details) if last_job is not None else "none yet"
    return [
        f"*Task `{escape_and_shorten(name, 40)}`*",
        *model_lines(version, metadata),
        autotag_line(channels),
        f"*Last retrain:* {last}",
    ]
