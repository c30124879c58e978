"""The /heed-admin job: the audit comes first, then the subcommand, each answered privately."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.admin import NO_LABELLED_ROWS, admin_usage
from bot.handlers.admin import HANDLERS, accept_admin, admin_job, parse_admin, split_task
from bot.ratelimit import REFUSALS_PER_MINUTE
from bot.services import Services
from bot.tasks import Task, Tasks
from classifier.store import ModelStore
from tests.bot.stubs import VERSION, StubClassifier, request_for, services_for

ADMIN = "UADMIN"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    made: list[Services] = []

    def make(**kw: Any) -> Services:
        kw.setdefault("admins", frozenset({ADMIN}))
        made.append(services_for(tmp_path, StubClassifier(), **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def run(services: Services, text: str, client: Any = None, user: str = ADMIN) -> MagicMock:
    """Run ``/heed-admin TEXT``; returns ``respond`` (every answer is a call to it)."""
    respond = MagicMock()
    command = {"command": "/heed-admin", "text": text, "user_id": user, "channel_id": "C1"}
    command["team_id"] = "T1"  # the admin check compares the user's workspace with Heed's
    admin_job(accept_admin(request_for(services, command, client, respond)))
    return respond


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("", ("help", "")),
        (None, ("help", "")),
        ("   ", ("help", "")),
        ("retrain", ("retrain", "")),
        ("  Status  ", ("status", "")),
        ("--help", ("help", "")),
        ("-h", ("help", "")),
        ("rollback now please", ("rollback", "now please")),
        ("x" * 80, ("x" * 40, "")),
    ],
)
def test_parse_admin(text: str | None, parsed: tuple[str, str]) -> None:
    assert parse_admin(text) == parsed


def said(respond: MagicMock) -> list[str]:
    return [c.kwargs["text"] for c in respond.call_args_list]


def test_every_subcommand_is_handled() -> None:
    assert set(HANDLERS) == {
        "help",
        "status",
        "retrain",
        "cancel",
        "versions",
        "promote",
        "rollback",
        "export",
        "forget",
        "queue",
        "shadow",
        "dry-run",
        "agreement",
        "suspects",
    }


def test_the_attempt_is_audited_with_its_arguments(services: Any) -> None:
    s = services()
    respond = run(s, "help me please")
    assert said(respond) == [admin_usage()]
    assert respond.call_args.kwargs["response_type"] == "ephemeral"
    [entry] = s.db.audit.recent()
    assert (entry.user, entry.action, entry.allowed) == (ADMIN, "help", True)
    assert entry.detail == "listed in HEED_ADMINS; channel C1; task default; arguments 'me please'"


def test_a_refusal_is_audited_and_runs_nothing(services: Any) -> None:
    s = services()
    client = MagicMock()
    respond = run(s, "rollback", client, user="UMEMBER")
    [text] = said(respond)
    assert text.startswith(":no_entry: Only Heed admins can use `/heed-admin`")
    assert not client.method_calls and s.models.holder("default").version == VERSION
    [entry] = s.db.audit.recent()
    assert (entry.user, entry.action, entry.allowed) == ("UMEMBER", "rollback", False)


def test_nothing_runs_when_the_audit_log_cannot_be_written(services: Any) -> None:
    s = services()
    s.db.audit.record = MagicMock(side_effect=RuntimeError("database is locked"))
    s.db.predictions.labelled_rows = MagicMock()
    respond = run(s, "export")
    assert said(respond) == [":warning: Heed couldn't write its audit log, so it did nothing."]
    s.db.predictions.labelled_rows.assert_not_called()


def test_status_names_the_serving_model_and_no_running_job(services: Any) -> None:
    [status] = run(services(), "status").call_args_list
    assert status.kwargs["text"] == f"Heed is serving model {VERSION}"
    assert "*Running job:* none" in json.dumps(status.kwargs["blocks"])


def test_an_unknown_subcommand_gets_the_usage(services: Any) -> None:
    s = services()
    assert said(run(s, "frobnicate")) == [admin_usage("unknown subcommand 'frobnicate'")]
    assert s.db.audit.recent()[0].detail.endswith("; unknown subcommand")


def test_export_without_rows_and_a_failed_upload(services: Any) -> None:
    s = services()
    assert said(run(s, "export")) == [NO_LABELLED_ROWS]
    pid = s.db.predictions.record(text="fine", label="neutral")
    s.db.predictions.record_answer(pid, "U2", "positive", role="labeler")
    client = MagicMock()
    client.conversations_open.return_value = {"channel": {"id": "DUADMIN"}}
    client.files_upload_v2.side_effect = SlackApiError("x", {"ok": False, "error": "fatal_error"})
    [text] = said(run(s, "export", client))
    assert text == ":warning: Heed couldn't upload the CSV: fatal_error"
    assert client.files_upload_v2.call_args.kwargs["channel"] == "DUADMIN"
    assert client.files_upload_v2.call_args.kwargs["file"] == b"text,label\r\nfine,positive\r\n"
    assert client.files_upload_v2.call_count == 1  # the JSONL is not sent after a failure
    client.chat_postMessage.assert_not_called()


def test_a_rollback_to_a_missing_version_keeps_serving(services: Any, tmp_path: Path) -> None:
    s = services()
    models = tmp_path / "models"
    (models / "history.json").write_text(json.dumps(["20250101-000000-000000", VERSION]))
    [text] = said(run(s, "rollback"))
    assert text.startswith(":warning: Cannot roll back: ")
    assert text.endswith(f"; still serving `{VERSION}`.")
    assert s.models.holder("default").version == VERSION


def test_a_damaged_promotion_history_is_said_in_one_clear_line(
    services: Any, tmp_path: Path
) -> None:
    s = services()
    (tmp_path / "models" / "history.json").write_text('["20250101-000000-0000')
    [text] = said(run(s, "rollback"))
    assert text.startswith(":warning: Cannot roll back: the promotion history ")
    assert "is damaged (JSONDecodeError); restore it from a backup" in text
    assert text.endswith(f"Still serving `{VERSION}`.")
    assert s.models.holder("default").version == VERSION


def two_tasks(root: Path) -> Tasks:
    return Tasks(
        {"default": Task("default", root), "support": Task("support", root / "support")},
        "default",
    )


def test_a_task_named_first_picks_its_store_and_is_audited(services: Any, tmp_path: Path) -> None:
    s = services(configured_tasks=two_tasks(tmp_path / "models"))

    def split(text: str) -> tuple[str, str, str | None]:
        return split_task(accept_admin(request_for(s, {"text": text})))

    assert split("versions support") == ("support", "", None)
    assert split("promote 20260202-000000-bbbbbb") == ("default", "20260202-000000-bbbbbb", None)
    assert split("forget support") == ("default", "support", None)
    assert split("promote nonsense") == ("default", "nonsense", None)
    assert split("promote billing 20260202-000000-bbbbbb")[2] is not None
    assert split("status billing")[2] == ("unknown task 'billing': use one of default, support")
    [text] = said(run(s, "versions support"))
    assert VERSION not in text  # the support store, not the default's
    assert s.db.audit.recent(1)[0].detail == "listed in HEED_ADMINS; channel C1; task support"
    [text] = said(run(s, "rollback billing"))
    assert text.startswith(":warning: unknown task 'billing'")
    assert ModelStore(tmp_path / "models").current() == VERSION  # nothing changed


def test_a_task_with_its_own_admins_and_labelers_is_theirs_alone(
    services: Any, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    tasks = Tasks(
        {
            "default": Task("default", root),
            "hr": Task("hr", root / "hr", admins=frozenset({"UHRLEAD"}), labelers={"UHR"}),
        },
        "default",
    )
    s = services(configured_tasks=tasks, labelers=frozenset({"ULAB"}))
    assert said(run(s, "status hr"))[0].startswith(":no_entry:")  # HEED_ADMINS: not hr's
    assert not s.db.audit.recent(1)[0].allowed
    assert not said(run(s, "status hr", user="UHRLEAD"))[0].startswith(":no_entry:")
    assert said(run(s, "status", user="UHRLEAD"))[0].startswith(":no_entry:")
    assert (
        s.labelers_for("hr")
        .check(
            "ULAB", user_team="T1", home_team="T1", asker=None, users_info=dict, group_members=list
        )
        .allowed
        is False
    )
    hr_labeler = s.labelers_for("hr").check(
        "UHR", user_team="T1", home_team="T1", asker=None, users_info=dict, group_members=list
    )
    assert hr_labeler.allowed and s.labelers_for("default").users == {"ULAB"}


def test_refused_attempts_beyond_the_rate_are_neither_answered_nor_audited(
    services: Any,
) -> None:
    s = services()
    answers = [said(run(s, "status", user="UNOBODY")) for _ in range(REFUSALS_PER_MINUTE + 5)]
    assert all(a and a[0].startswith(":no_entry:") for a in answers[:REFUSALS_PER_MINUTE])
    assert answers[REFUSALS_PER_MINUTE:] == [[]] * 5
    assert len(s.db.audit.recent(100)) == REFUSALS_PER_MINUTE
    assert said(run(s, "status"))  # an admin's allowed attempts are never limited
    busy = s.metrics.registry.get_sample_value(
        "heed_busy_refusals_total", {"reason": "refused_too_often"}
    )
    assert busy == 5


def test_agreement_reports_the_double_labelled_messages(services: Any) -> None:
    s = services(labelers=frozenset({"UA", "UB"}))
    assert "No message has two labelers' answers yet" in json.dumps(
        run(s, "agreement").call_args.kwargs["blocks"]
    )
    for n, (a, b) in enumerate([("x", "x"), ("y", "y"), ("x", "y"), ("y", "y")]):
        pid = s.db.predictions.record(text=f"text {n}", label="x")
        s.db.predictions.record_answer(pid, "UA", a, role="labeler")
        s.db.predictions.record_answer(pid, "UB", b, role="labeler")
    shown = json.dumps(run(s, "agreement default").call_args.kwargs["blocks"])
    assert "4 message(s) answered by two labelers" in shown
    assert "<@UA> & <@UB>: 0.50 over 4" in shown  # Cohen's kappa of that table
    assert "*Least agreed labels:* *x* 67% (3 pairs), *y* 80% (5 pairs)" in shown
    assert run(s, "agreement", user="UA").call_args.kwargs["text"].startswith(":no_entry:")
