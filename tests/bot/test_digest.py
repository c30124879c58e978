"""The queue digest against the fake Slack: one DM per labeler, admin and group member per
task and period whichever replica sends it, none for an empty queue, what a replica killed
mid-send leaves to the next one, Slack errors stored, and answers from the DM recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.blocks.feedback import CORRECT_ACTION, controls_id
from bot.database.queue import QueueOffer
from bot.digest import PER_AUTHOR, QueueDigest
from bot.schedule import parse_schedule
from bot.tasks import Task, Tasks
from tests.bot.conftest import ADMIN
from tests.bot.handlers.test_queue import seed
from tests.bot.stubs import digest_outcomes

LABELER, MEMBER = "ULABEL", "UMEMBER"
NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def replica(app: Any, owner: str, clock: list[datetime]) -> QueueDigest:
    client = WebClient(token="xoxb-test", base_url=app.fake.api_url)
    return QueueDigest(app.services, client, owner=owner, clock=lambda: clock[0])


def dms(app: Any) -> list[Any]:
    return [c for c in app.fake.calls("chat.postMessage") if c.params["channel"].startswith("D")]


def start(heed: Any) -> Any:
    app = heed(
        labelers=frozenset({LABELER, "S0GROUP"}),
        admins=frozenset({ADMIN}),
        queue_digest=parse_schedule("1h"),
    )
    app.fake.set_usergroup("S0GROUP", [MEMBER])
    return app


def test_each_recipient_gets_one_digest_per_period_across_replicas(heed: Any) -> None:
    app = start(heed)
    clock = [NOW]
    a, b = replica(app, "a:1", clock), replica(app, "b:2", clock)
    assert a.tick() == 0 and not app.fake.calls("chat.postMessage")  # empty queue: nothing
    pid = seed(app.db, "which is it", 0.9)
    assert a.tick() == 3 and b.tick() == 0 and a.tick() == 0
    assert sorted(c.params["channel"] for c in dms(app)) == [
        f"D{ADMIN}",
        f"D{LABELER}",
        f"D{MEMBER}",
    ]
    body = json.dumps(dms(app)[0].params["blocks"])
    assert "Your labelling digest for `default`" in body and controls_id(pid) in body
    clock[0] = NOW + timedelta(hours=1)
    assert b.tick() == 3 and a.tick() == 0


def test_a_replica_killed_mid_send_leaves_the_rest_to_the_next(heed: Any) -> None:
    app = start(heed)
    seed(app.db, "which is it", 0.9)
    period = app.services.settings.queue_digest.period(NOW)
    assert app.db.queue.claim_digest("default", period, ADMIN, "dead:1")  # claimed, never sent
    clock = [NOW]
    assert replica(app, "b:2", clock).tick() == 2
    assert sorted(c.params["channel"] for c in dms(app)) == [f"D{LABELER}", f"D{MEMBER}"]
    outcomes = digest_outcomes(app.db, "default", period)
    assert outcomes == {ADMIN: None, LABELER: "sent 1", MEMBER: "sent 1"}


def test_slack_errors_are_stored_and_answers_from_the_dm_are_recorded(heed: Any) -> None:
    app = start(heed)
    pid = seed(app.db, "which is it", 0.9)
    app.fake.fail_next("chat.postMessage", error="account_inactive")
    digest = replica(app, "a:1", [NOW])
    assert digest.tick() == 2
    outcomes = digest_outcomes(app.db, "default", digest.schedule.period(NOW))
    assert sorted(outcomes.values()) == ["failed: account_inactive", "sent 1", "sent 1"]

    dm = dms(app)[-1]
    [actions] = [b for b in dm.params["blocks"] if b.get("block_id") == controls_id(pid)]
    option = next(o for o in actions["elements"][1]["options"] if o["text"]["text"] == "neutral")
    user = dm.params["channel"][1:]
    app.fake.send_block_action(
        CORRECT_ACTION,
        user_id=user,
        channel_id=dm.params["channel"],
        message_ts=dm.response["ts"],
        block_id=controls_id(pid),
        selected_option=option,
    )
    update = app.fake.wait_for_call("chat.update", timeout=10)
    ids = [b.get("block_id") for b in update.params["blocks"]]
    assert ids.index(f"{controls_id(pid)}_note") == ids.index(controls_id(pid)) - 1
    assert f"Recorded: neutral by <@{user}>" in json.dumps(update.params["blocks"])
    assert [a.chosen_label for a in app.db.predictions.answers_for(pid)] == ["neutral"]
    assert app.db.queue.top("default", 5) == []


def test_forgetting_a_text_deletes_the_digest_dms_that_quote_it(heed: Any) -> None:
    app = start(heed)
    pid = seed(app.db, "bo's words in every digest", 0.9)  # written by UAUTHOR
    assert replica(app, "a:1", [NOW]).tick() == 3
    sent = {(c.response["channel"], c.response["ts"]) for c in dms(app)}
    assert app.admin("forget <@UAUTHOR>").params["text"].startswith(":wastebasket: Forgot")
    assert app.db.predictions.get(pid) is None
    assert {(c.params["channel"], c.params["ts"]) for c in app.fake.calls("chat.delete")} == sent


def test_a_digest_holds_at_most_a_few_items_of_one_author(heed: Any) -> None:
    app = start(heed)
    flood = [seed(app.db, f"urgent: log in at https://evil.example/{n}", 0.99) for n in range(6)]
    other = app.db.predictions.record(
        text="is this late?",
        label="negative",
        scores={"negative": 0.5, "positive": 0.5},
        user="UOTHER",
        source="autotag",
        queue=QueueOffer(0.5),
    )
    assert replica(app, "a:1", [NOW]).tick() == 3
    blocks = dms(app)[0].params["blocks"]
    shown = [b["block_id"] for b in blocks if b["type"] == "actions"]
    newest = flood[::-1][:PER_AUTHOR]  # the newest first on ties
    assert shown == [controls_id(pid) for pid in (*newest, other)]
    assert "evil.example" not in json.dumps(blocks)  # and what is shown is defanged


def test_a_task_with_its_own_labelers_is_digested_to_them_alone(heed: Any, tmp_path: Any) -> None:
    root = tmp_path / "models"
    hr = Task("hr", root / "hr", admins=frozenset({"UHRLEAD"}), labelers=frozenset({"UHR"}))
    tasks = Tasks({"default": Task("default", root), "hr": hr}, "default")
    app = heed(
        labelers=frozenset({LABELER}),
        admins=frozenset({ADMIN}),
        queue_digest=parse_schedule("1h"),
        configured_tasks=tasks,
    )
    digest = replica(app, "a:1", [NOW])
    assert digest.recipients("hr") == ["UHR", "UHRLEAD"]
    assert digest.recipients("default") == sorted([ADMIN, LABELER])
