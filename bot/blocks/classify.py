"""The ``/classify`` surface as ``(fallback text, blocks)``: the reply, its usage help, the
auto-tag note, heatmap captions, and the one-line caveat under every explanation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.blocks.appeal import appeal_control
from bot.blocks.common import (
    LABEL_CHARS,
    Blocks,
    against_threshold,
    bar,
    context,
    percent,
    section,
    sections,
)
from bot.blocks.feedback import feedback_actions
from bot.blocks.why_not import why_not_actions
from bot.slack_api.text import escape_and_shorten, escape_mrkdwn, shorten
from classifier.types import DEFAULT_EXPLAIN_METHOD, EXPLAIN_METHODS, Explanation, Prediction

# README, "Explanations: what the heatmap does and does not prove", in one line.
CAVEAT = (
    ":information_source: The heatmap is a hint about which words mattered, not proof of why: "
    "don't base a moderation decision on it alone."
)

_METHODS = {
    "attn-grad": "`attn-grad` (attention × gradient: fast, a little less faithful than "
    "integrated gradients)",
    "gradient": "`gradient` (integrated gradients: faithful, about a quarter second)",
    "gradient-upper": "`gradient-upper` (integrated gradients through the top layers: "
    "nearly as faithful, a quarter of the time)",
    "attn-grad-mix": "`attn-grad-mix` (attn-grad read from every token too: nearly as faithful "
    "as integrated gradients, fast)",
    "attention": "`attention` (the last layer's attention: fastest)",
    "rollout": "`rollout` (attention through all layers)",
}


def usage_text(
    default_method: str = DEFAULT_EXPLAIN_METHOD,
    tasks: Sequence[str] = (),
    error: str | None = None,
) -> str:
    """The ``/classify`` help (after a one-line ``error`` if any): the method used without
    ``--explain`` and, with several ``tasks`` (the default first), how to pick one."""
    methods = ", ".join(_METHODS[m] for m in EXPLAIN_METHODS if m in _METHODS)
    default = default_method if default_method in _METHODS else DEFAULT_EXPLAIN_METHOD
    pick = (
        f"• `--task NAME` (or `-t`) picks the classifier: {', '.join(f'`{t}`' for t in tasks)}. "
        f"Without it: `{tasks[0]}`.\n"
        if len(tasks) > 1
        else ""
    )
    flag = "[--task NAME] " if len(tasks) > 1 else ""
    return (
        (f":warning: {escape_mrkdwn(error)}\n" if error else "")
        + f"Usage: `/classify {flag}[--explain {'|'.join(EXPLAIN_METHODS)}] TEXT`\n"
        "Heed labels TEXT with its model, shows every class's confidence and uploads a heatmap "
        "of the words the model weighed (darker = more; with `attn-grad` and `gradient`, "
        "orange words pushed toward the label and purple ones away from it).\n"
        f"• `--explain` (or `-e`) picks how the words are weighed: {methods}. "
        f"Without it: `{default}`, the default here.\n"
        + pick
        + "• The heatmap is a hint about which words mattered, not proof of why."
    )


def score_lines(scores: Mapping[str, float]) -> list[str]:
    """One mrkdwn line per class, highest confidence first."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        f"`{bar(p)}` {percent(p):>6}  {escape_and_shorten(label, LABEL_CHARS)}"
        for label, p in ordered
    ]


def top_two(scores: Mapping[str, float]) -> str:
    """``*spam* 41.0% · *ok* 38.0%``: the two likeliest labels (one with a single class)."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    return " · ".join(
        f"*{escape_and_shorten(label, LABEL_CHARS)}* {percent(p)}" for label, p in ordered
    )


def not_sure_line(prediction: Prediction, abstain_below: float) -> str:
    """What Heed says first when it abstains: not sure, and the two labels it hesitates between."""
    return (
        f":grey_question: *Not sure* (top {percent(prediction.confidence)}, below "
        f"{percent(abstain_below)}): {top_two(prediction.scores)}"
    )


def truncation_note(max_tokens: int | None) -> str:
    """What to tell the person when their text was cut to the model's limit."""
    limit = f" of {max_tokens} tokens" if max_tokens else ""
    return (
        f":warning: The text was longer than the model's limit{limit}, so it was classified on "
        "its beginning only; the rest was ignored."
    )


@dataclass(frozen=True)
class Reply:
    """What a ``/classify`` reply shows: who asked (None: no "asked" line), the model's token
    limit (for the truncation note), the recorded prediction (None: no feedback controls)."""

    explanation: Explanation
    text: str
    user_id: str | None = None
    max_tokens: int | None = None
    prediction_id: int | None = None
    abstain_below: float | None = None
    """The task's ``abstain_below`` when Heed abstains on this text (None: it does not)."""


def classify_reply(reply: Reply, note: str | None = None) -> tuple[str, Blocks]:
    """The ``/classify`` reply: label, every class's confidence, method, model, a truncation
    note when needed, an optional ``note`` (e.g. where the heatmap is), the controls."""
    explanation = reply.explanation
    p = explanation.prediction
    asked = f"<@{reply.user_id}> asked: " if reply.user_id else ""
    quote = escape_and_shorten(" ".join(reply.text.split()), 600)
    label = escape_and_shorten(p.label, LABEL_CHARS)
    head = f"*{label}* — {percent(p.confidence)} confidence"
    if reply.abstain_below is not None:
        head = not_sure_line(p, reply.abstain_below)
    blocks: Blocks = [
        section(f"{head}\n{asked}_{quote}_"),
        *sections(score_lines(p.scores)),
        context(
            f"Explanation: *{explanation.method}* · Model: `{p.model}`",
            truncation_note(reply.max_tokens) if (p.truncated or explanation.truncated) else "",
        ),
        context(CAVEAT),
    ]
    if note:
        blocks.append(context(note))
    if reply.prediction_id is not None:
        if len(p.scores) > 1:
            blocks.append(why_not_actions(reply.prediction_id, p.label, p.scores))
        blocks.append(feedback_actions(reply.prediction_id, p.label, list(p.scores)))
    how = f", explained with {explanation.method}" if explanation.method else ""
    fallback = f"{p.label} ({percent(p.confidence)} confidence{how}) · model {p.model}"
    return ("Not sure: " if reply.abstain_below is not None else "") + fallback, blocks


def autotag_blocks(
    prediction: Prediction, prediction_id: int | None = None, threshold: float | None = None
) -> tuple[str, Blocks]:
    """The thread note under an auto-tagged message (with how its confidence met the label's
    ``threshold``), the caveat, then the recorded prediction's feedback controls (for
    labelers and admins to correct the tag) and the author's appeal button."""
    met = "" if threshold is None else f"; {against_threshold(prediction.confidence, threshold)}"
    note = (
        f"Heed tagged this *{escape_mrkdwn(prediction.label)}* "
        f"({percent(prediction.confidence)} confidence, model `{prediction.model}`{met}). "
        "The heatmap shows the words it weighed."
    )
    blocks: Blocks = [section(note), context(CAVEAT)]
    if prediction_id is not None:
        blocks.append(feedback_actions(prediction_id, prediction.label, list(prediction.scores)))
        blocks.append(appeal_control(prediction_id))
    return note, blocks


def unavailable_method_note(error: str) -> str:
    """Said (privately) when the serving model cannot explain with the asked method."""
    return f":warning: Heed couldn't explain this: {escape_and_shorten(error, 300)}."


def heatmap_title(explanation: Explanation) -> str:
    """Title of an uploaded heatmap PNG."""
    p = explanation.prediction
    label = shorten(p.label, LABEL_CHARS)
    if explanation.versus is not None:
        label += f", not {shorten(explanation.versus, LABEL_CHARS)}"
    return f"Heed: {label} {percent(p.confidence)} ({explanation.method})"


def heatmap_comment(explanation: Explanation) -> str:
    """The comment posted with the heatmap file (what the colours mean)."""
    label = escape_mrkdwn(explanation.prediction.label)
    if explanation.signed_weights:
        return (
            f"Orange words pushed toward *{label}*, purple words away from it "
            f"({explanation.method}; darker = stronger)."
        )
    return f"Words the model weighed for *{label}* ({explanation.method}; darker = more)."


NOT_IN_CHANNEL_NOTE = (
    ":information_source: The heatmap couldn't be attached: invite Heed to this channel "
    "(`/invite @Heed`) to get the image too."
)

DM_HEATMAP_NOTE = ":information_source: The heatmap is in your DM with Heed."

NO_TEXT_NOTE = (
    ":information_source: That message has no text Heed can classify (only files or attachments)."
)


def unknown_task_error(task: str, tasks: Sequence[str]) -> str:
    """The error line for a bad ``--task`` value, listing the tasks."""
    return f"unknown task '{shorten(task, 40)}': use one of {', '.join(tasks)}"


def unknown_method_error(method: str) -> str:
    """The error line for a bad ``--explain`` value."""
    return f"unknown explanation method '{shorten(method, 40)}': use {', '.join(EXPLAIN_METHODS)}"
