"""/classify: argument parsing, and the job: record, reply (public or private), remember
where, upload the heatmap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import DM_HEATMAP_NOTE, NOT_IN_CHANNEL_NOTE
from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID
from bot.handlers.classify import ClassifyArgs, accept_classify, classify_job, parse_classify
from bot.services import Request, Services
from bot.tasks import Task, Tasks
from tests.bot.stubs import PNG, VERSION, StubClassifier, request_for, services_for

COMMAND = {"command": "/classify", "channel_id": "C1", "user_id": "U1", "thread_ts": "0.5"}


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("great stuff", ClassifyArgs("great stuff")),
        ("  --explain rollout  great  stuff ", ClassifyArgs("great  stuff", "rollout")),
        ("-e GRADIENT great", ClassifyArgs("great", "gradient")),
        ("--explain=rollout great", ClassifyArgs("great", "rollout")),
        ("-e rollout --explain gradient x", ClassifyArgs("x", "gradient")),
        ("-- --explain is text", ClassifyArgs("--explain is text")),
        ("-excellent product", ClassifyArgs("-excellent product")),
        ("a &lt;b&gt; &amp; <https://x.io|link>", ClassifyArgs("a <b> & link")),
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
    assert parse_classify("text").method is None  # the task's method, chosen by the caller


def test_the_text_handed_on_is_normalised() -> None:
    assert parse_classify("ｈｉ\u200b there").text == "hi there"


def test_parse_classify_task_flag() -> None:
    assert parse_classify("--task support my invoice") == ClassifyArgs("my invoice", task="support")
    assert parse_classify("-e rollout -t=Support x") == ClassifyArgs("x", "rollout", task="support")
    assert parse_classify("--task").error == "--task needs a task name"


def test_the_task_flag_picks_the_task_and_its_method(services: Any) -> None:
    moderation = Task("moderation", Path("m"), explain_method="rollout")
    support = Task("support", Path("s"), channels=("#support",), explain_method="gradient")
    tasks = Tasks({"support": support, "moderation": moderation}, "moderation")
    s = services(configured_tasks=tasks)
    body = {**COMMAND, "text": "--task support where is my invoice"}
    request = accept_classify(request_for(s, body))
    assert isinstance(request, Request)
    assert (request.task.name, request.method, request.text) == (
        "support",
        "gradient",
        "where is my invoice",
    )
    request = accept_classify(request_for(s, {**COMMAND, "text": "hello"}))
    assert isinstance(request, Request)
    assert (request.task.name, request.method) == ("moderation", "rollout")


def slack_error(error: str) -> SlackApiError:
    return SlackApiError(error, {"ok": False, "error": error})


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    made: list[Services] = []

    def make(*, db: Any = None, stub: StubClassifier | None = None, **kw: Any) -> Services:
        made.append(services_for(tmp_path, stub, db=db, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def classify(
    services: Services, client: Any, respond: Any, text: str, method: str = "attention"
) -> None:
    """Run the /classify job for ``text`` as the listener table hands it on."""
    body = {**COMMAND, "text": f"--explain {method} {text}"}
    request = accept_classify(request_for(services, body, client, respond))
    assert isinstance(request, Request) and request.text == text
    classify_job(request)


def client_posting(ts: str = "9.1") -> MagicMock:
    client = MagicMock()
    client.chat_postMessage.return_value = {"ok": True, "channel": "C1", "ts": ts}
    client.chat_postEphemeral.return_value = {"ok": True, "message_ts": ts}
    client.conversations_open.return_value = {"channel": {"id": "DU1"}}
    return client


def controls(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("block_id") == FEEDBACK_BLOCK_ID for e in b["elements"]]


def test_a_public_reply_is_recorded_with_its_controls_then_the_heatmap(services: Any) -> None:
    s = services()
    client, respond = client_posting(), MagicMock()
    classify(s, client, respond, "so good", "rollout")
    reply = client.chat_postMessage.call_args.kwargs
    assert (reply["channel"], reply["thread_ts"]) == ("C1", "0.5")
    assert reply["text"].startswith("positive (90.0% confidence, explained with rollout)")
    [confirm, _] = controls(reply["blocks"])
    assert confirm["action_id"] == CONFIRM_ACTION
    stored = s.db.predictions.get(int(confirm["value"]))
    assert (stored.text, stored.label, stored.model_version, stored.method) == (
        "so good",
        "positive",
        VERSION,
        "rollout",
    )
    assert (stored.channel, stored.user, stored.message_ts) == ("C1", "U1", "9.1")
    upload = client.files_upload_v2.call_args.kwargs
    assert (upload["channel"], upload["thread_ts"]) == ("C1", "0.5")
    assert upload["file"].startswith(PNG) and "rollout" in upload["title"]
    respond.assert_not_called()


def test_a_failing_database_still_gets_a_reply_without_controls(services: Any) -> None:
    s = services()
    s.db.predictions.record = MagicMock(side_effect=RuntimeError("disk I/O error"))
    s.db.predictions.set_message = MagicMock()
    client = client_posting()
    classify(s, client, MagicMock(), "so good", "attention")
    assert controls(client.chat_postMessage.call_args.kwargs["blocks"]) == []
    s.db.predictions.set_message.assert_not_called()


def test_a_failed_write_logs_its_reason_but_never_the_text(
    services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    s = services()
    with s.db.write() as conn:  # every insert fails inside the database, parameters bound
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON predictions "
            "BEGIN SELECT RAISE(ABORT, 'refused by a test'); END"
        )
    client = client_posting()
    classify(s, client, MagicMock(), "my card number is 4111 1111", "attention")
    assert controls(client.chat_postMessage.call_args.kwargs["blocks"]) == []
    assert "cannot record the classify: IntegrityError: refused by a test" in caplog.text
    assert "4111" not in caplog.text


def test_not_a_member_replies_through_the_response_url(services: Any) -> None:
    s = services()
    client, respond = client_posting(), MagicMock()
    client.chat_postMessage.side_effect = slack_error("not_in_channel")
    classify(s, client, respond, "so good", "attention")
    answer = respond.call_args.kwargs
    assert answer["response_type"] == "in_channel" and answer["replace_original"] is False
    assert answer["blocks"][-3]["elements"][0]["text"] == NOT_IN_CHANNEL_NOTE  # then the menus
    assert controls(answer["blocks"])  # the controls still come with it
    client.files_upload_v2.assert_not_called()


def test_other_slack_errors_are_raised_for_the_apology(services: Any) -> None:
    s = services()
    client = client_posting()
    client.chat_postMessage.side_effect = slack_error("is_archived")
    with pytest.raises(SlackApiError):
        classify(s, client, MagicMock(), "so good", "attention")


def test_a_private_reply_is_ephemeral_and_the_heatmap_goes_by_dm(services: Any) -> None:
    s = services(private_replies=True)
    client, respond = client_posting("7.7"), MagicMock()
    client.files_upload_v2.side_effect = slack_error("file_uploads_disabled")
    classify(s, client, respond, "so good", "attention")
    reply = client.chat_postEphemeral.call_args.kwargs
    assert (reply["channel"], reply["user"], reply["thread_ts"]) == ("C1", "U1", "0.5")
    assert DM_HEATMAP_NOTE in str(reply["blocks"])
    [confirm, _] = controls(reply["blocks"])
    assert s.db.predictions.get(int(confirm["value"])).message_ts == "7.7"
    client.conversations_open.assert_called_once_with(users="U1")
    assert client.files_upload_v2.call_args.kwargs["channel"] == "DU1"
    client.chat_postMessage.assert_not_called()  # the failure note goes to the person only
    note = respond.call_args.kwargs
    assert note["text"].startswith(":warning: Heed couldn't upload the heatmap")
    assert note["response_type"] == "ephemeral"


def test_a_private_reply_outside_heeds_channels_uses_the_response_url(services: Any) -> None:
    s = services(private_replies=True)
    client, respond = client_posting(), MagicMock()
    client.chat_postEphemeral.side_effect = slack_error("channel_not_found")
    classify(s, client, respond, "so good", "attention")
    answer = respond.call_args_list[0].kwargs
    assert answer["response_type"] == "ephemeral" and "positive" in answer["text"]
    assert client.files_upload_v2.call_args.kwargs["channel"] == "DU1"


def test_a_method_the_architecture_cannot_give_is_said_privately(services: Any) -> None:
    s = services(stub=StubClassifier(unavailable=("attention", "rollout")))
    client, respond = client_posting(), MagicMock()
    classify(s, client, respond, "so good", "rollout")
    said = respond.call_args.kwargs
    assert said["response_type"] == "ephemeral"
    assert said["text"].startswith(":warning: Heed couldn't explain this: the rollout explanation")
    assert "FNetForSequenceClassification" in said["text"] and "use gradient" in said["text"]
    client.chat_postMessage.assert_not_called()
    client.files_upload_v2.assert_not_called()
