"""/classify: argument parsing, and the listener's ack (help, or hand-off) without an app."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bot.blocks.classify import USAGE
from bot.blocks.common import BUSY_NOTE, slow_down_note
from bot.handlers.classify import classify_job
from bot.jobpool import Busy
from bot.listeners.classify import ClassifyArgs, on_classify, parse_classify
from bot.tasks import Task, Tasks
from tests.bot.listeners.fakes import Ack, RecordingServices, context_for


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("great stuff", ClassifyArgs("great stuff", "attention")),
        ("  --explain rollout  great  stuff ", ClassifyArgs("great  stuff", "rollout")),
        ("-e GRADIENT great", ClassifyArgs("great", "gradient")),
        ("--explain=rollout great", ClassifyArgs("great", "rollout")),
        ("-e rollout --explain gradient x", ClassifyArgs("x", "gradient")),
        ("-- --explain is text", ClassifyArgs("--explain is text", "attention")),
        ("-excellent product", ClassifyArgs("-excellent product", "attention")),
        ("a &lt;b&gt; &amp; <https://x.io|link>", ClassifyArgs("a <b> & link", "attention")),
        ("", ClassifyArgs(help=True)),
        ("   ", ClassifyArgs(help=True)),
        ("help", ClassifyArgs(help=True)),
        ("--help", ClassifyArgs(help=True)),
        ("--explain rollout", ClassifyArgs(help=True, method="rollout")),
        ("--explain", ClassifyArgs(help=True, error="--explain needs a method")),
    ],
)
def test_parse_classify(raw: str, expected: ClassifyArgs) -> None:
    assert parse_classify(raw) == expected


def test_parse_classify_unknown_method_and_default() -> None:
    args = parse_classify("--explain shap text")
    assert args.help and "unknown explanation method 'shap'" in (args.error or "")
    assert parse_classify("text", default_method="gradient").method == "gradient"


def command(text: str) -> dict[str, str]:
    return {"command": "/classify", "text": text, "channel_id": "C1", "user_id": "U1"}


@pytest.mark.parametrize(
    "text", ["", "   ", "help", "-e rollout  ", "<|>", "\u200b\u200d\u2060", "-e gradient \ufeff"]
)
def test_nothing_to_classify_is_acked_with_the_usage(text: str) -> None:
    ack, services = Ack(), RecordingServices()
    on_classify(ack, command(text), MagicMock(), MagicMock(), context_for(services))
    [answer] = ack.calls
    assert answer["text"] == USAGE
    assert answer["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": USAGE}}]
    assert services.handed_off == []


def test_a_bad_flag_is_acked_with_the_error_then_the_usage() -> None:
    ack, services = Ack(), RecordingServices()
    on_classify(ack, command("-e shap hi"), MagicMock(), MagicMock(), context_for(services))
    [answer] = ack.calls
    assert answer["text"].startswith(":warning: unknown explanation method 'shap'")
    assert answer["text"].endswith(USAGE) and services.handed_off == []


def test_the_usage_names_the_configured_default_method() -> None:
    ack, services = Ack(), RecordingServices(explain_method="attention")
    on_classify(ack, command(""), MagicMock(), MagicMock(), context_for(services))
    assert "Without it: `attention`, the default here." in ack.calls[0]["text"]


def test_text_is_acked_empty_and_handed_to_the_job() -> None:
    ack, services = Ack(), RecordingServices(explain_method="rollout")
    client, respond, body = MagicMock(), MagicMock(), command("so &lt;b&gt; good")
    context = context_for(services)
    on_classify(ack, body, client, respond, context)
    assert ack.calls == [{}]
    [(fn, args, kw)] = services.handed_off
    assert fn is classify_job
    assert args == (services, client, respond, body, "so <b> good", "rollout", "default")
    assert kw == {"respond": respond, "bolt_context": context, "body": body}
    client.assert_not_called()  # nothing reaches Slack before the job runs


def test_a_full_job_queue_is_a_polite_busy_ack() -> None:
    class FullServices(RecordingServices):
        def submit_after_ack(self, *args: object, **kw: object) -> None:
            raise Busy("full")

    ack, services = Ack(), FullServices()
    on_classify(ack, command("hello"), MagicMock(), MagicMock(), context_for(services))
    assert ack.calls == [{"text": BUSY_NOTE}]


def test_a_user_over_the_rate_limit_is_told_when_to_come_back() -> None:
    class LimitedServices(RecordingServices):
        def rate_limited(self, user: str | None) -> float:
            return 12.4 if user == "U1" else 0.0

    ack, services = Ack(), LimitedServices()
    on_classify(ack, command("hello"), MagicMock(), MagicMock(), context_for(services))
    assert ack.calls == [{"text": slow_down_note(12.4)}] and "12 s" in ack.calls[0]["text"]
    assert not services.handed_off


def test_the_text_handed_on_is_normalised() -> None:
    assert parse_classify("ｈｉ\u200b there").text == "hi there"


def test_parse_classify_task_flag() -> None:
    assert parse_classify("--task support my invoice") == ClassifyArgs(
        "my invoice", "attention", task="support"
    )
    assert parse_classify("-e rollout -t=Support x") == ClassifyArgs("x", "rollout", task="support")
    assert parse_classify("--task").error == "--task needs a task name"
    assert parse_classify("x", default_method=None).method is None


def two_tasks() -> Tasks:
    moderation = Task("moderation", Path("m"), explain_method="rollout")
    support = Task("support", Path("s"), channels=("#support",), explain_method="gradient")
    return Tasks({"support": support, "moderation": moderation}, "moderation", "heed.toml")


def test_task_flag_hands_off_that_task_with_its_method() -> None:
    ack, services = Ack(), RecordingServices(configured_tasks=two_tasks())
    body = command("--task support where is my invoice")
    on_classify(ack, body, MagicMock(), MagicMock(), context_for(services))
    [(_, args, _)] = services.handed_off
    assert args[-3:] == ("where is my invoice", "gradient", "support")
    on_classify(ack, command("hello"), MagicMock(), MagicMock(), context_for(services))
    assert services.handed_off[-1][1][-3:] == ("hello", "rollout", "moderation")


def test_unknown_task_is_acked_privately_with_the_tasks() -> None:
    ack, services = Ack(), RecordingServices(configured_tasks=two_tasks())
    on_classify(ack, command("--task billing hi"), MagicMock(), MagicMock(), context_for(services))
    [answer] = ack.calls
    assert answer["text"].startswith(
        ":warning: unknown task 'billing': use one of moderation, support"
    )
    assert "`--task NAME`" in answer["text"] and services.handed_off == []
