"""Block Kit for Heed's messages: pure functions from predictions to ``(text, blocks)``.

``text`` is the notification/fallback line (label, confidence, model version); ``blocks`` is
what Slack renders. The ``/classify`` reply leaves a slot for feedback controls: pass
``feedback`` (the elements of an actions block) and they are added under
:data:`FEEDBACK_BLOCK_ID` at the end of the reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.text import escape_mrkdwn, shorten
from classifier.types import EXPLAIN_METHODS, Explanation, Prediction

FEEDBACK_BLOCK_ID = "heed_feedback"
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
