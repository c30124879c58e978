"""Who may label, in-process against the fake Slack: the asker, HEED_LABELERS (users and user
groups) and admins of the installing workspace; everyone else — a member who did not ask, a
Slack Connect user from another workspace — is told privately and changes nothing; every
attempt is audited; trusted answers outrank the asker's and conflicting ones hold the row."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID, HELD_LINE
from tests.bot.conftest import ADMIN, controls, select_option
from tests.support.fakeslack import Call, FakeSlack

LABELER, GROUP_MEMBER, STRANGER = "ULABEL", "UGROUP", "USTRANGER"


def confirm(fake: FakeSlack, reply: Call, user: str, team: str | None = None) -> str:
    button = controls(reply)[0]
    return fake.send_block_action(
        CONFIRM_ACTION,
        button["value"],
        user_id=user,
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
        user_team=team,
    )


def refusal(fake: FakeSlack, before: int) -> Call:
    return fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=10)[0]


def test_someone_who_did_not_ask_is_refused_and_audited(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    reply = app.classify("you are all idiots")
    pid = int(controls(reply)[0]["value"])
    select_option(app.fake, reply, "negative", STRANGER)
    note = refusal(app.fake, 0)
    assert note.params["response_type"] == "ephemeral"
    assert note.params["text"].startswith(":no_entry: Only the person who asked")
    assert app.db.predictions.answers_for(pid) == [] and not app.fake.calls("chat.update")
    [entry] = app.db.audit.recent()
    assert (entry.user, entry.action, entry.allowed) == (STRANGER, "label", False)
    assert f"prediction {pid}: 'negative'" in entry.detail and "not the asker" in entry.detail


def test_a_user_of_another_workspace_is_refused_even_when_listed(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}), admins=frozenset({ADMIN}))
    reply = app.classify("fine")
    pid = int(controls(reply)[0]["value"])
    for n, user in enumerate((LABELER, ADMIN, "U1")):  # U1 asked, in this workspace
        confirm(app.fake, reply, user, team="TOTHER")
        refusal(app.fake, n)
    assert app.db.predictions.answers_for(pid) == [] and not app.fake.calls("chat.update")
    entries = app.db.audit.recent()
    assert [(e.user, e.allowed) for e in reversed(entries)] == [
        (LABELER, False),
        (ADMIN, False),
        ("U1", False),
    ]
    assert all(
        "not a member of the installing workspace (team TOTHER)" in e.detail for e in entries
    )


def test_permitted_answers_are_used_and_conflicts_are_held(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER, "S0LABEL"}), admins=frozenset({ADMIN}))
    app.fake.set_usergroup("S0LABEL", [GROUP_MEMBER])
    reply = app.classify("love it")  # predicted positive, asked by U1
    pid = int(controls(reply)[0]["value"])
    db = app.db

    select_option(app.fake, reply, "neutral", "U1")  # the asker: used while no one else answers
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 1, timeout=10)
    assert db.predictions.labelled_rows() == [("love it", "neutral")]

    select_option(app.fake, reply, "negative", GROUP_MEMBER)  # a labeler outranks the asker
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 2, timeout=10)
    assert db.predictions.labelled_rows() == [("love it", "negative")]

    confirm(app.fake, reply, ADMIN)  # an admin disagrees with the labeler: held
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 3, timeout=10)
    assert db.predictions.labelled_rows() == []
    [held] = db.predictions.held()
    assert (held.prediction_id, set(held.answers)) == (
        pid,
        {(GROUP_MEMBER, "negative"), (ADMIN, "positive")},
    )
    assert db.predictions.counts()["held"] == 1
    assert HELD_LINE in json.dumps(app.fake.calls("chat.update")[-1].params["blocks"])

    confirm(app.fake, reply, GROUP_MEMBER)  # the labeler changes their answer: agreed, used
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 4, timeout=10)
    assert db.predictions.labelled_rows() == [("love it", "positive")]
    assert HELD_LINE not in json.dumps(app.fake.calls("chat.update")[-1].params["blocks"])
    roles = {a.user: a.role for a in db.predictions.answers_for(pid)}
    assert roles == {"U1": "asker", GROUP_MEMBER: "labeler", ADMIN: "admin"}
    assert [e.allowed for e in db.audit.recent()] == [True] * 4
    assert len(app.fake.calls("usergroups.users.list")) == 1  # cached
