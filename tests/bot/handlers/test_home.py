"""The Home tab as of now: broken parts (no heed.json, a failing database) are left out."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from unittest.mock import MagicMock

from bot.blocks.admin import DETAILS_NOTE
from bot.database import Database
from bot.handlers.home import HOME_JOBS, current_home, publish_home
from tests.bot.stubs import VERSION, request_for, services_for


def claim(db: Database):
    return db.jobs.claim("retrain", "UADMIN", owner="r", lease=timedelta(seconds=30))


def opened(user: str) -> dict:
    event = {"type": "app_home_opened", "user": user}
    return {"type": "event_callback", "team_id": "T1", "event": event}


def test_the_view_has_the_jobs_and_counts_of_the_database(tmp_path: Path) -> None:
    services = services_for(tmp_path, admins=frozenset({"UADMIN"}))
    db = services.db
    try:
        for _ in range(HOME_JOBS + 3):
            db.jobs.finish(claim(db).id, "failed", message="bad data")
        db.predictions.record_answer(
            db.predictions.record(text="x", label="neutral"), "U", "ok", role="labeler"
        )
        client, member = MagicMock(), MagicMock()
        publish_home(request_for(services, opened("UADMIN"), client))
        publish_home(request_for(services, opened("U3"), member))
    finally:
        services.close()
    view = client.views_publish.call_args.kwargs["view"]
    assert client.views_publish.call_args.kwargs["user_id"] == "UADMIN"
    body = json.dumps(view)
    assert VERSION in body and "1 answer (" in body
    assert "*Labeler agreement:* no message has two labelers' answers yet" in body
    assert body.count("bad data") == HOME_JOBS  # the newest ones: #8 down to #4
    assert ":x: #8" in body and ":x: #4" in body and ":x: #3" not in body
    seen = json.dumps(member.views_publish.call_args.kwargs["view"])  # not an admin
    assert ":x: #8" in seen and "bad data" not in seen and DETAILS_NOTE in seen


def test_a_failing_database_leaves_the_jobs_out(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    services.db.jobs.recent = MagicMock(side_effect=RuntimeError("database is locked"))
    try:
        body = json.dumps(current_home(services))
    finally:
        services.close()
    assert VERSION in body and "none yet" in body and "*Feedback:*" not in body


def test_the_counts_are_the_default_tasks_only(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    db = services.db
    try:
        for task in ("default", "retired"):  # a task gone from heed.toml keeps its rows
            pid = db.predictions.record(text="x", label="neutral", task=task)
            db.predictions.record_answer(pid, "U", "ok", role="labeler")
        body = json.dumps(current_home(services))
    finally:
        services.close()
    assert "1 answer (" in body and "2 answers" not in body


def test_the_view_is_made_at_most_once_per_user_every_few_seconds(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    recent = MagicMock(wraps=services.db.jobs.recent)
    services.db.jobs.recent = recent
    try:
        client = MagicMock()
        for _ in range(5):
            publish_home(request_for(services, opened("U3"), client))
        publish_home(request_for(services, opened("U4"), client))
    finally:
        services.close()
    assert client.views_publish.call_count == 6 and recent.call_count == 2
