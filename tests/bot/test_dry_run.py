"""The dry run's arguments and its counts: labels, what each threshold would do, examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dry_run import DryRunArgs, Outcomes, Tally, parse_dry_run
from bot.setting_kinds import Thresholds
from bot.tasks import Task
from classifier.types import Prediction

NAMES = ["default", "support"]


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("<#C0123ABCD|general>", DryRunArgs("C0123ABCD")),
        ("<#C0123ABCD> --days 7 support", DryRunArgs("C0123ABCD", days=7, task="support")),
        ("Support --messages 500 G0PRIVATE", DryRunArgs("G0PRIVATE", messages=500, task="support")),
        ("C1 --heatmaps", DryRunArgs("C1", heatmaps=True)),
    ],
)
def test_parse_dry_run(text: str, parsed: DryRunArgs) -> None:
    assert parse_dry_run(text, NAMES) == parsed


@pytest.mark.parametrize(
    "text,error",
    [
        ("", "dry-run needs a channel"),
        ("--days 3", "dry-run needs a channel"),
        ("C1 --days", "--days needs a whole number of at least 1"),
        ("C1 --messages 0", "--messages needs a whole number of at least 1"),
        ("C1 --messages -5", "--messages needs a whole number of at least 1"),
        ("C1 --days 2 --messages 9", "give --days or --messages, not both"),
        ("#general", "pick #general from Slack's suggestions"),
        ("C1 nope", "'nope' is not a channel, a task or an option"),
    ],
)
def test_bad_arguments_say_what_is_wrong(text: str, error: str) -> None:
    assert (parse_dry_run(text, NAMES).error or "").startswith(error)


def said(label: str, confidence: float) -> Prediction:
    return Prediction(label, confidence, {label: confidence}, "v1")


def test_the_tally_counts_what_each_setting_would_do() -> None:
    task = Task(
        "t",
        Path("m"),
        label_emoji={"spam": "wastebasket", "ok": "", "*": "label"},
        notify=frozenset({"spam"}),
        threshold=Thresholds(0.75, {"spam": 0.9}),
        abstain_below=0.5,
    )
    tally = Tally(task)
    seen = [("spam", 0.95), ("spam", 0.8), ("spam", 0.4), ("ok", 0.99), ("ok", 0.6)]
    for i, (label, confidence) in enumerate(seen):
        tally.add(said(label, confidence), f"text {i}", f"{i}.0")
    assert tally.classified == 5 and tally.labels == {"spam": 3, "ok": 2}
    # now: 0.4 abstains; spam 0.95 and 0.8 get a reaction ("ok" has none); only 0.95 ≥ 0.9
    assert tally.now() == Outcomes(tagged=2, notified=1, abstained=1)
    assert tally.at(0.7) == Outcomes(tagged=2, notified=2, abstained=2)
    assert tally.at(0.9) == Outcomes(tagged=1, notified=1, abstained=3)
    assert [e.confidence for e in tally.examples("spam")] == [0.95, 0.8, 0.4]
    assert [e.text for e in tally.examples("ok")] == ["text 3", "text 4"]
