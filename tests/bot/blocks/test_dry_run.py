"""The dry run's report and notes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.blocks.dry_run import report, threshold_table, unreadable_line
from bot.dry_run import Tally
from bot.tasks import Task
from classifier.types import Prediction


def tally() -> Tally:
    counted = Tally(Task("mod", Path("m"), notify=frozenset({"negative"})))
    for i, (label, confidence) in enumerate([("negative", 0.95), ("positive", 0.55)] * 3):
        counted.add(Prediction(label, confidence, {label: confidence}, "v1"), f"t <{i}>", str(i))
    return counted


def test_the_report_has_the_distribution_table_and_examples() -> None:
    text, blocks = report(tally(), "C2", "v1", read=8)
    assert text.startswith(":bar_chart: Dry run of <#C2> with task `mod` (model `v1`): 6 of 8")
    body = json.dumps(blocks, ensure_ascii=False)
    assert "negative      3  50.0%" in body and "t &lt;0&gt;" in body
    assert "Nothing was tagged or stored" in text
    assert len(blocks) <= 50


def test_the_threshold_table_rows() -> None:
    rows = threshold_table(tally())
    assert rows[0].split() == ["threshold", "tagged", "notified", "abstained"]
    assert rows[1].split() == ["now", "6", "3", "0"]  # the default task never abstains
    assert rows[2].split() == ["0.50", "6", "3", "0"]
    assert rows[3].split() == ["0.60", "3", "3", "3"]


def test_nothing_to_classify_and_unreadable_channels() -> None:
    text, _ = report(Tally(Task("mod", Path("m"))), "C2", "v1", read=4)
    assert "none a person wrote" in text
    assert "`/invite @Heed`" in unreadable_line("C2", "not_in_channel")
    assert "`channels:history`" in unreadable_line("C2", "missing_scope")
    assert "`ratelimited`" in unreadable_line("C2", "ratelimited")
