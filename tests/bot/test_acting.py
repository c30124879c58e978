"""What auto-tagging does with one prediction: per mode, threshold (per label) and
abstention."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.acting import decide, would_react
from bot.setting_kinds import LabelThresholds
from bot.tasks import Task
from classifier.types import Prediction

EMOJI = {"harassment": "rotating_light", "spam": "wastebasket", "ok": "", "*": "label"}
TASK = Task(
    "moderation",
    Path("models"),
    label_emoji=EMOJI,
    notify=frozenset({"harassment", "spam"}),
    threshold=LabelThresholds().read({"harassment": 0.6, "spam": 0.9, "*": 0.75}),
    abstain_below=0.4,
    not_sure_emoji="thinking_face",
    review_channel="C0REVIEW",
)


def said(label: str, confidence: float) -> Prediction:
    return Prediction(label, confidence, {label: confidence}, "v1")


@pytest.mark.parametrize(
    "label,confidence,flagged,threshold",
    [
        ("harassment", 0.65, True, 0.6),  # its own threshold: 0.6
        ("harassment", 0.55, False, 0.6),
        ("spam", 0.85, False, 0.9),  # 0.85 passes "*" but not spam's 0.9
        ("spam", 0.95, True, 0.9),
        ("ok", 0.99, False, 0.75),  # not a notify label
    ],
)
def test_per_label_thresholds_decide_per_label(
    label: str, confidence: float, flagged: bool, threshold: float
) -> None:
    plan = decide(TASK, said(label, confidence))
    assert (plan.flagged, plan.thread_note, plan.review) == (flagged, flagged, flagged)
    assert plan.threshold == threshold and not plan.abstained and not plan.queue_first
    assert plan.react == (TASK.emoji_for(label))


def test_act_mode_reacts_and_notes() -> None:
    plan = decide(TASK, said("harassment", 0.9))
    assert plan.react == "rotating_light" and plan.thread_note and plan.review
    assert not plan.suggested


def test_thread_notes_can_be_turned_off_the_review_post_stays() -> None:
    plan = decide(replace(TASK, thread_note=False), said("harassment", 0.9))
    assert not plan.thread_note and plan.review and plan.react == "rotating_light"


def test_no_review_channel_no_review_post() -> None:
    plan = decide(replace(TASK, review_channel=None), said("harassment", 0.9))
    assert plan.thread_note and not plan.review


def test_suggest_mode_adds_nothing_to_the_channel() -> None:
    task = replace(TASK, mode="suggest")
    flagged = decide(task, said("harassment", 0.9))
    assert flagged.react is None and not flagged.thread_note and flagged.review
    assert flagged.suggested and would_react(task, said("harassment", 0.9)) == "rotating_light"
    quiet = decide(task, said("ok", 0.9))
    assert quiet.react is None and not quiet.thread_note and not quiet.review


def test_an_abstention_tags_nothing_but_the_not_sure_emoji_and_queues_first() -> None:
    plan = decide(TASK, said("harassment", 0.35))
    assert plan.abstained and plan.queue_first and not plan.flagged
    assert plan.react == "thinking_face" and not plan.thread_note
    assert not plan.review  # in act mode an abstention is no review post
    assert decide(replace(TASK, not_sure_emoji=None), said("spam", 0.2)).react is None


def test_in_suggest_mode_an_abstention_goes_to_the_review_channel() -> None:
    plan = decide(replace(TASK, mode="suggest"), said("harassment", 0.35))
    assert plan.abstained and plan.review and plan.react is None and plan.queue_first


def test_the_default_task_never_abstains_and_acts() -> None:
    plan = decide(Task("default", Path("m")), said("positive", 0.01))
    assert not plan.abstained and plan.react == "+1" and not plan.review
