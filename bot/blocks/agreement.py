"""The agreement figures as Slack text: ``/heed-admin agreement``, the App Home line and the
retrain preview's warning about labels the labelers agree on too rarely."""

from __future__ import annotations

from collections.abc import Sequence

from bot.agreement import LOW_AGREEMENT, MIN_PAIRS, Agreement, LabelAgreement
from bot.blocks.common import LABEL_CHARS
from bot.slack_api.text import escape_and_shorten

AGREEMENT_ACTION = "agreement"  # the subcommand
LABELS_SHOWN = 5
PAIRS_SHOWN = 10


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _label(x: LabelAgreement) -> str:
    return f"*{escape_and_shorten(x.label, LABEL_CHARS)}* {x.agreement:.0%} ({x.pairs} pairs)"


def agreement_lines(task: str, found: Agreement) -> list[str]:
    """The full report of one task: pairs, Fleiss, consensus, the least agreed labels."""
    head = f"*Labeler agreement for `{escape_and_shorten(task, 40)}`*"
    if not found.items:
        return [
            head,
            "No message has two labelers' answers yet: set `HEED_DOUBLE_LABEL` (e.g. `0.1`) to "
            "ask two labelers about that share of the queue.",
        ]
    lines = [head, f"{found.items} message(s) answered by two labelers or more."]
    lines.append("*Cohen's kappa by pair:*")
    lines += [
        f"• <@{p.first}> & <@{p.second}>: {_kappa(p.kappa)} over {p.items}"
        for p in found.pairs[:PAIRS_SHOWN]
    ]
    if found.fleiss is not None:
        lines.append(f"*Fleiss' kappa* (three labelers or more): {found.fleiss:.2f}")
    lines.append("*With the others' consensus:*")
    lines += [f"• <@{who}>: {share:.0%} of {n}" for who, (n, share) in found.with_consensus.items()]
    lowest = ", ".join(_label(x) for x in found.labels[:LABELS_SHOWN])
    lines.append(f"*Least agreed labels:* {lowest}")
    return lines


def agreement_summary(found: Agreement) -> str:
    """One App Home line: the mean kappa, the items, the least agreed label."""
    if not found.items:
        return "*Labeler agreement:* no message has two labelers' answers yet"
    least = f"; least agreed: {_label(found.labels[0])}" if found.labels else ""
    fleiss = f", Fleiss' {found.fleiss:.2f}" if found.fleiss is not None else ""
    return (
        f"*Labeler agreement:* kappa {_kappa(found.mean_kappa)}{fleiss} over {found.items} "
        f"double-labelled message(s){least}"
    )


def low_agreement_warning(low: Sequence[LabelAgreement]) -> str | None:
    """The retrain preview's warning for labels agreed on below :data:`LOW_AGREEMENT`."""
    if not low:
        return None
    shown = ", ".join(_label(x) for x in low[:LABELS_SHOWN])
    return (
        f":warning: *Low labeler agreement* (under {LOW_AGREEMENT:.0%}, {MIN_PAIRS}+ pairs): "
        f"{shown}. Labelers disagree on these often; check the guidelines before training."
    )
