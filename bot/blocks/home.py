"""The App Home tab: the serving model, auto-tagging, retraining jobs, how to use Heed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.blocks.admin import counts_line, job_line, model_lines, running_line
from bot.blocks.classify import DEFAULT_METHOD, usage_text
from bot.blocks.common import Blocks, section, sections
from bot.slack_api.text import escape_and_shorten

if TYPE_CHECKING:
    from bot.database import JobRecord
    from bot.retrain.jobs import RunningJob

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
    explain_method: str = DEFAULT_METHOD,
    details: bool = False,
) -> dict:
    """The App Home ``home`` view: model, labels and metrics, auto-tagging, the running job and
    the last jobs with their outcome, feedback counts, how to use Heed. ``warning`` (e.g. the
    serving model is a fallback) goes first. Failure reasons and the warning's detail (server
    paths, lines of training data) are shown only with ``details`` (the viewer is an admin)."""
    lines = model_lines(version, metadata)
    if warning:
        shown = escape_and_shorten(warning, 600) if details else FALLBACK_NOTE
        lines.insert(0, f":warning: {shown}")
    where = ", ".join(c if c.startswith("#") else f"<#{c}>" for c in autotag) or "no channels"
    lines.append(f"*Auto-tagging:* {where}")
    if counts is not None:
        lines.append(counts_line(counts))
    view_blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Heed"}},
        *sections(lines),
        {"type": "divider"},
    ]
    job_lines = [running_line(current)] if current is not None else []
    job_lines += [job_line(j, details) for j in jobs if current is None or j.id != current.id]
    if jobs and not details:
        job_lines.append(DETAILS_NOTE)
    view_blocks += sections(["*Retraining jobs*", *(job_lines or ["none yet"])])
    view_blocks += [{"type": "divider"}, section(usage_text(explain_method))]
    return {"type": "home", "blocks": view_blocks[:100]}
