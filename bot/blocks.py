"""Block Kit for Heed's messages: pure functions from predictions to ``(text, blocks)``.

``text`` is the notification/fallback line (label, confidence, model version); ``blocks`` is
what Slack renders. The ``/classify`` reply leaves a slot for feedback controls: pass
``feedback`` (the elements of an actions block, see :func:`feedback_elements`) and they are
added under :data:`FEEDBACK_BLOCK_ID` at the end of the reply. Once someone answered, a note
(:data:`FEEDBACK_NOTE_BLOCK_ID`) just above the controls says who recorded which label.

The second half builds the admin surface: ``/heed-admin`` help and status, retraining
progress and evaluation, and the App Home tab.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.text import escape_mrkdwn, shorten
from classifier.types import EXPLAIN_METHODS, Explanation, Prediction

if TYPE_CHECKING:
    from bot.feedback import Feedback, JobRecord
    from bot.retrain import Job, JobResult

FEEDBACK_BLOCK_ID = "heed_feedback"
FEEDBACK_NOTE_BLOCK_ID = "heed_feedback_note"
CONFIRM_ACTION = "heed_feedback_confirm"
CORRECT_ACTION = "heed_feedback_correct"
MAX_OPTIONS = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
NOTE_ANSWERS = 10
SECTION_LIMIT = 3000
BAR_WIDTH = 10
QUOTE_CHARS = 600
LABEL_CHARS = 60
USAGE = (
    "Usage: `/classify [--explain attention|rollout|gradient] TEXT`\n"
    "Heed labels TEXT with its model, shows every class's confidence and uploads a heatmap "
    "of the words the model weighed (darker = more).\n"
    "• `--explain` (or `-e`) picks how the words are weighed: `attention` (last layer), "
    "`rollout` (attention across all layers) or `gradient` (integrated gradients, slower)."
)

Blocks = list[dict]


def plural(n: int, word: str) -> str:
    """``plural(1, "row")`` -> ``'1 row'``, ``plural(2, "row")`` -> ``'2 rows'``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def percent(p: float) -> str:
    """``0.8734`` -> ``'87.3%'``."""
    return f"{100 * p:.1f}%"


def bar(p: float, width: int = BAR_WIDTH) -> str:
    """A text bar for a probability: ``'███████░░░'``."""
    filled = max(0, min(width, round(p * width)))
    return "█" * filled + "░" * (width - filled)


def score_lines(scores: Mapping[str, float]) -> list[str]:
    """One mrkdwn line per class, highest confidence first."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        f"`{bar(p)}` {percent(p):>6}  {escape_mrkdwn(shorten(label, LABEL_CHARS))}"
        for label, p in ordered
    ]


def _chunked_sections(lines: Sequence[str], limit: int = SECTION_LIMIT) -> Blocks:
    """Pack lines into as few section blocks as Slack's 3000-character limit allows."""
    sections, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]


def _context(*parts: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": p} for p in parts if p]}


def reply_text(prediction: Prediction, method: str | None = None) -> str:
    """The plain fallback line of a reply: label, confidence, method and model version."""
    how = f", explained with {method}" if method else ""
    return (
        f"{prediction.label} ({percent(prediction.confidence)} confidence{how}) "
        f"· model {prediction.model}"
    )


def truncation_note(max_tokens: int | None) -> str:
    """What to tell the person when their text was cut to the model's limit."""
    limit = f" of {max_tokens} tokens" if max_tokens else ""
    return (
        f":warning: The text was longer than the model's limit{limit}, so it was classified on "
        "its beginning only; the rest was ignored."
    )


def classify_reply(
    explanation: Explanation,
    *,
    text: str,
    user_id: str | None = None,
    max_tokens: int | None = None,
    feedback: Sequence[dict] | None = None,
    note: str | None = None,
) -> tuple[str, Blocks]:
    """The ``/classify`` reply: label and confidence, every class's confidence (sorted),
    the explanation method, the model version, a truncation note when needed, an optional
    ``note`` (e.g. why the heatmap is missing) and optional ``feedback`` elements."""
    p = explanation.prediction
    asked = f"<@{user_id}> asked: " if user_id else ""
    quote = escape_mrkdwn(shorten(" ".join(text.split()), QUOTE_CHARS))
    blocks: Blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{escape_mrkdwn(p.label)}* — {percent(p.confidence)} confidence\n"
                f"{asked}_{quote}_",
            },
        },
        *_chunked_sections(score_lines(p.scores)),
        _context(
            f"Explanation: *{explanation.method}* · Model: `{p.model}`",
            truncation_note(max_tokens) if (p.truncated or explanation.truncated) else "",
        ),
    ]
    if note:
        blocks.append(_context(note))
    if feedback:
        blocks.append(
            {"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": list(feedback)}
        )
    return reply_text(p, explanation.method), blocks


def usage(error: str | None = None) -> tuple[str, Blocks]:
    """Usage help for ``/classify``, optionally after a one-line ``error``."""
    head = f":warning: {escape_mrkdwn(error)}\n" if error else ""
    text = head + USAGE
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def autotag_note(prediction: Prediction) -> str:
    """The short thread note under an auto-tagged message."""
    return (
        f"Heed tagged this *{escape_mrkdwn(prediction.label)}* "
        f"({percent(prediction.confidence)} confidence, model `{prediction.model}`). "
        "The heatmap shows the words it weighed."
    )


def heatmap_title(explanation: Explanation) -> str:
    """Title of an uploaded heatmap PNG."""
    p = explanation.prediction
    return f"Heed: {shorten(p.label, LABEL_CHARS)} {percent(p.confidence)} ({explanation.method})"


def heatmap_comment(explanation: Explanation) -> str:
    """The comment posted with the heatmap file."""
    return (
        f"Words the model weighed for *{escape_mrkdwn(explanation.prediction.label)}* "
        f"({explanation.method}; darker = more)."
    )


def upload_failed_note(reason: str) -> str:
    """Posted when the heatmap could not be uploaded (with a hint when Heed is not a member)."""
    hint = ""
    if reason in ("not_in_channel", "channel_not_found"):
        hint = " — invite Heed to this channel (`/invite @Heed`) to get heatmaps"
    return (
        f":warning: Heed couldn't upload the heatmap: {escape_mrkdwn(shorten(reason, 200))}{hint}"
    )


NOT_IN_CHANNEL_NOTE = (
    ":information_source: The heatmap couldn't be attached: invite Heed to this channel "
    "(`/invite @Heed`) to get the image too."
)
DM_HEATMAP_NOTE = ":information_source: The heatmap is in your DM with Heed."


def apology(ref: str) -> str:
    """What the person sees when handling their command failed (no details, a log ref)."""
    return f":face_with_head_bandage: Sorry, Heed couldn't handle that. (ref `{ref}`)"


def unknown_method_error(method: str) -> str:
    """The error line for a bad ``--explain`` value."""
    return f"unknown explanation method '{shorten(method, 40)}': use {', '.join(EXPLAIN_METHODS)}"


# -- feedback ----------------------------------------------------------------------------


def choice_value(prediction_id: int, label: str, index: int) -> str:
    """An option's value: ``"<id>:<label>"``, or ``"<id>#<index>"`` (the label's position in
    the prediction's scores) when the label is too long for Slack's 150 characters."""
    value = f"{prediction_id}:{label}"
    return value if len(value) <= OPTION_VALUE_CHARS else f"{prediction_id}#{index}"


def parse_choice(value: str) -> tuple[int, str | int]:
    """Inverse of :func:`choice_value` (and of the confirm button's ``"<id>"``):
    ``(prediction_id, label or index or "")``. Raises ``ValueError`` for anything else."""
    head, sep, tail = value.partition(":")
    if sep:
        return int(head), tail
    head, sep, tail = value.partition("#")
    if sep:
        return int(head), int(tail)
    return int(value), ""


def feedback_elements(prediction_id: int, predicted: str, labels: Sequence[str]) -> Blocks:
    """The controls under a ``/classify`` reply: a "✓ Correct" button (value: the stored
    prediction id) and an "Actually it's…" menu of the model's other labels, alphabetical
    (values from :func:`choice_value`, indexes into ``labels``). Past :data:`MAX_OPTIONS`
    labels the menu is split into option groups of that size, so every label stays reachable."""
    elements: Blocks = [
        {
            "type": "button",
            "action_id": CONFIRM_ACTION,
            "text": {"type": "plain_text", "text": "✓ Correct", "emoji": True},
            "value": str(prediction_id),
        }
    ]
    others = sorted(
        ((label, i) for i, label in enumerate(labels) if label != predicted),
        key=lambda item: (item[0].lower(), item[1]),
    )
    options = [
        {
            "text": {"type": "plain_text", "text": shorten(label, OPTION_TEXT_CHARS)},
            "value": choice_value(prediction_id, label, i),
        }
        for label, i in others
    ][: MAX_OPTIONS * MAX_OPTIONS]
    if not options:
        return elements
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": CORRECT_ACTION,
        "placeholder": {"type": "plain_text", "text": "Actually it's…", "emoji": True},
    }
    if len(options) <= MAX_OPTIONS:
        select["options"] = options
    else:
        select["option_groups"] = [
            {
                "label": {
                    "type": "plain_text",
                    "text": shorten(
                        f"{group[0]['text']['text']} … {group[-1]['text']['text']}",
                        OPTION_TEXT_CHARS,
                    ),
                },
                "options": group,
            }
            for group in (options[i : i + MAX_OPTIONS] for i in range(0, len(options), MAX_OPTIONS))
        ]
    elements.append(select)
    return elements


def recorded_line(answer: Feedback) -> str:
    """``Recorded: positive by <@U1>`` (+ whether it confirmed or corrected the label)."""
    how = "correction" if answer.is_correction else "confirmed"
    label = escape_mrkdwn(shorten(answer.chosen_label, LABEL_CHARS))
    return f"Recorded: {label} by <@{answer.user}> ({how})"


def feedback_note(answers: Sequence[Feedback]) -> dict:
    """The context block listing the answers so far (the newest :data:`NOTE_ANSWERS`)."""
    shown = list(answers)[-NOTE_ANSWERS:]
    more = len(answers) - len(shown)
    lines = [":memo: " + recorded_line(a) for a in shown]
    if more:
        lines.insert(0, f"… and {more} earlier answer{'s' * (more > 1)}")
    return {
        "type": "context",
        "block_id": FEEDBACK_NOTE_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": "\n".join(lines)}],
    }


def with_feedback_note(reply_blocks: Sequence[dict], answers: Sequence[Feedback]) -> Blocks:
    """``reply_blocks`` with the note of ``answers`` just above the feedback controls (an older
    note is replaced; the controls stay, so others can still answer)."""
    out = [b for b in reply_blocks if b.get("block_id") != FEEDBACK_NOTE_BLOCK_ID]
    if not answers:
        return out
    at = next((i for i, b in enumerate(out) if b.get("block_id") == FEEDBACK_BLOCK_ID), len(out))
    out.insert(at, feedback_note(answers))
    return out


FEEDBACK_UNKNOWN = (
    ":warning: Heed doesn't know that answer any more (it may come from another Heed install, "
    "or its database was reset), so nothing was recorded."
)


# -- admin -------------------------------------------------------------------------------

ADMIN_USAGE = (
    "Usage: `/heed-admin retrain | status | rollback | export | help`\n"
    "• `retrain` — fine-tune a new model on `HEED_TRAIN_DATA` plus the stored corrections, "
    "with progress here; it is promoted only if it is not worse than the serving model\n"
    "• `status` — the serving model, its labels and metrics, the running job, the last jobs\n"
    "• `rollback` — serve the previously promoted model again\n"
    "• `export` — the labelled rows (feedback) as CSV, sent to you by DM"
)
JOB_ICONS = {
    "running": ":arrows_counterclockwise:",
    "queued": ":hourglass:",
    "failed": ":x:",
    "timed_out": ":alarm_clock:",
    "cancelled": ":no_entry_sign:",
}


def admin_usage(error: str | None = None) -> str:
    """The ``/heed-admin`` help, optionally after a one-line ``error``."""
    head = f":warning: {escape_mrkdwn(error)}\n" if error else ""
    return head + ADMIN_USAGE


def refusal(reason: str) -> str:
    """What a non-admin sees."""
    return (
        ":no_entry: Only Heed admins can use `/heed-admin` "
        f"({escape_mrkdwn(shorten(reason, 200))}). This attempt was logged."
    )


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _who(user: str | None) -> str:
    return f"<@{user}>" if user else "someone"


def model_lines(version: str | None, metadata: Mapping[str, Any]) -> list[str]:
    """Serving version, labels, held-out metrics and training rows, as mrkdwn lines."""
    lines = [f"*Model:* `{version or 'none'}`"]
    labels = list(metadata.get("labels") or [])
    if labels:
        shown = ", ".join(
            f"`{escape_mrkdwn(shorten(label, LABEL_CHARS))}`" for label in labels[:40]
        )
        more = f" and {len(labels) - 40} more" if len(labels) > 40 else ""
        lines.append(f"*Labels ({len(labels)}):* {shown}{more}")
    metrics = metadata.get("metrics") or {}
    if "accuracy" in metrics and "macro_f1" in metrics:
        rows = (metadata.get("rows") or {}).get("eval")
        on = f" on {rows} held-out rows" if rows else ""
        lines.append(
            f"*Held-out eval:* accuracy {percent(metrics['accuracy'])}, "
            f"macro-F1 {percent(metrics['macro_f1'])}{on}"
        )
    if metadata.get("created"):
        train = (metadata.get("rows") or {}).get("train")
        rows_note = f" on {train} rows" if train else ""
        lines.append(f"*Trained:* {escape_mrkdwn(str(metadata['created']))}{rows_note}")
    return lines


def per_class_table(per_class: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A fixed-width table (label, precision, recall, F1, support), one line per class."""
    width = max([len("label")] + [len(shorten(label, 28)) for label in per_class])
    lines = [f"{'label':<{width}}  precision  recall     F1  support"]
    for label, m in per_class.items():
        lines.append(
            f"{shorten(label, 28):<{width}}  {m.get('precision', 0):>9.3f}  "
            f"{m.get('recall', 0):>6.3f}  {m.get('f1', 0):>5.3f}  {int(m.get('support', 0)):>7}"
        )
    return lines


def _code_sections(lines: Sequence[str]) -> Blocks:
    """``lines`` as code blocks, split so each section stays under Slack's limit."""
    chunks = _chunked_sections(lines, SECTION_LIMIT - 8)
    for block in chunks:
        block["text"]["text"] = "```" + block["text"]["text"] + "```"
    return chunks


def job_line(job: JobRecord) -> str:
    """One finished (or running) job: when, who, outcome."""
    when = _utc(job.finished or job.started or job.created)
    head = f"#{job.id} {when} by {_who(job.requested_by)}"
    message = escape_mrkdwn(shorten(" ".join((job.message or "").split()), 300))
    if job.status == "succeeded":
        icon = ":white_check_mark:" if job.promoted else ":heavy_minus_sign:"
        f1 = (job.metrics or {}).get("macro_f1")
        score = f", macro-F1 {percent(f1)}" if isinstance(f1, int | float) else ""
        verdict = "promoted" if job.promoted else "not promoted"
        return f"{icon} {head}: trained `{job.version}`{score}; {verdict} ({message})"
    icon = JOB_ICONS.get(job.status, ":grey_question:")
    return f"{icon} {head}: {job.status.replace('_', ' ')}" + (f": {message}" if message else "")


def running_line(job: Job, now: datetime | None = None) -> str:
    """The running job: who started it, when, and its newest progress."""
    now = now or datetime.now(UTC)
    elapsed = max(0.0, (now - job.started).total_seconds())
    return (
        f":arrows_counterclockwise: #{job.id} started by {_who(job.requested_by)} at "
        f"{job.started.astimezone(UTC):%H:%M:%S} UTC ({elapsed:.0f}s ago): {job.progress_text()}"
    )


def already_running(job: Job) -> str:
    """The answer to a second ``retrain`` while one runs."""
    return (
        f":hourglass: A job is already running (#{job.id}, started by {_who(job.requested_by)} "
        f"at {job.started.astimezone(UTC):%H:%M:%S} UTC): {job.progress_text()}. "
        "Try again when it has finished."
    )


def counts_line(counts: Mapping[str, int]) -> str:
    """Feedback so far, and how many labelled rows the next retrain adds."""
    return (
        f"*Feedback:* {plural(counts.get('answers', 0), 'answer')} "
        f"({plural(counts.get('confirmations', 0), 'confirmation')}, "
        f"{plural(counts.get('corrections', 0), 'correction')}) → "
        f"{plural(counts.get('labelled_rows', 0), 'labelled row')} for the next retrain"
    )


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def status_blocks(
    version: str | None,
    metadata: Mapping[str, Any],
    *,
    current: Job | None,
    jobs: Sequence[JobRecord],
    counts: Mapping[str, int] | None = None,
    train_data: Sequence[str] = (),
) -> tuple[str, Blocks]:
    """``/heed-admin status``: model, per-class metrics, current job, last jobs, feedback."""
    out: Blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Heed status"}}]
    out += _chunked_sections(model_lines(version, metadata))
    per_class = (metadata.get("metrics") or {}).get("per_class") or {}
    if per_class:
        out += _code_sections(per_class_table(per_class))
    out.append(
        _section("*Running job:* " + (running_line(current) if current is not None else "none"))
    )
    history = [job_line(j) for j in jobs if current is None or j.id != current.id]
    out += _chunked_sections(["*Last jobs:*", *(history or ["none yet"])])
    context = [counts_line(counts)] if counts is not None else []
    data = ", ".join(f"`{escape_mrkdwn(shorten(p, 80))}`" for p in train_data) or "none"
    context.append(f"*HEED_TRAIN_DATA:* {data}")
    out.append(_context(*context))
    return f"Heed is serving model {version or 'none'}", out


def retrain_progress(job_id: int, requested_by: str | None, progress: str, elapsed: float) -> str:
    """The status message while a job runs (updated with ``chat.update``)."""
    return (
        f":arrows_counterclockwise: Retraining job #{job_id} (requested by {_who(requested_by)}): "
        f"{escape_mrkdwn(progress)} · {elapsed:.0f}s"
    )


def retrain_started(requested_by: str | None) -> str:
    """The status message as first posted, before the job has an id."""
    return f":hourglass_flowing_sand: Retraining requested by {_who(requested_by)}: starting…"


def one_line(text: str | None, limit: int = 500) -> str:
    """``text`` squeezed onto one line (whitespace collapsed) and shortened."""
    return shorten(" ".join((text or "").split()), limit)


def retrain_failed(result: JobResult, requested_by: str | None, serving: str | None) -> str:
    """One line: which job failed and why, and that the serving model did not change."""
    reason = one_line(result.reason or "unknown reason")
    tail = "" if "serving model" in reason else f"; the serving model is unchanged (`{serving}`)"
    status = result.status.replace("_", " ")
    return (
        f":x: {_who(requested_by)} retraining job #{result.job_id} {status}: "
        f"{escape_mrkdwn(reason)}{tail}"
    )


def retrain_finished(result: JobResult, serving: str | None) -> str:
    """The status message's final state after a successful job."""
    verdict = "promoted and now serving" if result.promoted else "not promoted; still serving"
    now = result.version if result.promoted else serving
    return (
        f":white_check_mark: Retraining job #{result.job_id} finished in {result.seconds:.0f}s: "
        f"`{result.version}` {verdict} `{now}`"
    )


def evaluation_blocks(
    result: JobResult, requested_by: str | None, serving: str | None, swap_note: str = ""
) -> tuple[str, Blocks]:
    """The evaluation posted after a successful job: accuracy, macro-F1, the per-class table,
    the promotion decision and its reason, which version serves now."""
    m = result.metrics
    rows = (result.result or {}).get("rows") or {}
    on = f" on {rows['eval']} held-out rows" if rows.get("eval") else ""
    if result.promoted:
        verdict = f":rocket: *Promoted:* Heed now serves `{result.version}`"
    else:
        verdict = f":heavy_minus_sign: *Not promoted:* Heed still serves `{serving}`"
    reason = escape_mrkdwn(one_line(result.promotion_reason or "no comparison was made"))
    lines = [
        f"*Retraining job #{result.job_id}* (requested by {_who(requested_by)}) trained "
        f"`{result.version}` in {result.seconds:.0f}s",
        f"*Accuracy:* {percent(m.get('accuracy', 0))} · *macro-F1:* "
        f"{percent(m.get('macro_f1', 0))}{on}",
        f"{verdict} — {reason}",
    ]
    if result.corrections_rows:
        lines.append(f"Included {plural(result.corrections_rows, 'labelled row')} from feedback.")
    if swap_note:
        lines.append(swap_note)
    out = _chunked_sections(lines)
    per_class = m.get("per_class") or {}
    if per_class:
        out += _code_sections(per_class_table(per_class))
    return result.summary(), out


def rolled_back(previous: str, target: str, serving: str | None) -> str:
    """The answer to ``rollback``."""
    note = "" if serving == target else f" (but the bot still serves `{serving}`: see its log)"
    return f":leftwards_arrow_with_hook: Rolled back from `{previous}` to `{target}`{note}."


def home_view(
    version: str | None,
    metadata: Mapping[str, Any],
    autotag: Sequence[str],
    *,
    current: Job | None = None,
    jobs: Sequence[JobRecord] = (),
    counts: Mapping[str, int] | None = None,
) -> dict:
    """The App Home ``home`` view: model, labels and metrics, auto-tagging, the running job and
    the last jobs with their outcome, feedback counts, how to use Heed."""
    lines = model_lines(version, metadata)
    where = ", ".join(c if c.startswith("#") else f"<#{c}>" for c in autotag) or "no channels"
    lines.append(f"*Auto-tagging:* {where}")
    if counts is not None:
        lines.append(counts_line(counts))
    view_blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Heed"}},
        *_chunked_sections(lines),
        {"type": "divider"},
    ]
    job_lines = [running_line(current)] if current is not None else []
    job_lines += [job_line(j) for j in jobs if current is None or j.id != current.id]
    view_blocks += _chunked_sections(["*Retraining jobs*", *(job_lines or ["none yet"])])
    view_blocks += [{"type": "divider"}, _section(USAGE)]
    return {"type": "home", "blocks": view_blocks[:100]}
