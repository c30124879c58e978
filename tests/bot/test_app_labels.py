"""Who may label, in-process against the fake Slack: the asker, HEED_LABELERS (users and user
groups) and admins of the installing workspace; everyone else — a member who did not ask, a
Slack Connect user from another workspace — is told privately and changes nothing; every
attempt is audited; only trusted answers decide (the asker's or an auto-tagged message's
author's is a suggestion) and conflicting ones hold the row."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID, HELD_LINE
from bot.database.labels import resolve
from bot.setting_kinds import Thresholds
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

    select_option(app.fake, reply, "neutral", "U1")  # the asker: a suggestion, never trained on
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 1, timeout=10)
    assert db.predictions.labelled_rows() == [] and db.queue.status(pid) == "suggested"

    select_option(app.fake, reply, "negative", GROUP_MEMBER)  # a labeler decides
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 2, timeout=10)
    assert db.predictions.labelled_rows() == [("love it", "negative")]

    confirm(app.fake, reply, ADMIN)  # an admin disagrees with the labeler: held
    app.fake.wait_for(lambda: len(app.fake.calls("chat.update")) == 3, timeout=10)
    assert db.predictions.labelled_rows() == []
    held = resolve(db.predictions.answers_for(pid))
    assert held.held and set(held.users) == {GROUP_MEMBER, ADMIN}
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


def test_auto_tags_are_recorded_and_corrected_by_labelers_only(heed: Any) -> None:
    app = heed(
        labelers=frozenset({LABELER}),
        autotag_channels=("C1",),
        autotag_notify=frozenset({"*"}),
        autotag_threshold=Thresholds(0.0),
    )
    fake, db = app.fake, app.db
    _, ts = fake.send_message_event("abuse that should be tagged", user_id="UAUTHOR")
    note = fake.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=10
    )
    stored = fake.wait_for(lambda: db.predictions.find_by_message("C1", ts))
    assert (stored.source, stored.user, stored.asker) == ("autotag", "UAUTHOR", None)
    assert stored.text == "abuse that should be tagged"
    [controls_block] = [b for b in note.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    confirm_button, select = controls_block["elements"]
    option = next(o for o in select["options"] if o["text"]["text"] == "negative")

    def pick(user: str) -> None:
        fake.send_block_action(
            select["action_id"],
            user_id=user,
            message_ts=note.response["ts"],
            block_id=FEEDBACK_BLOCK_ID,
            selected_option=option,
        )

    pick("UAUTHOR")  # the author may suggest a label: shown, queued first, not trained on
    update = fake.wait_for_call("chat.update", timeout=10)
    assert "Suggested: negative by <@UAUTHOR>" in json.dumps(update.params)
    assert [(a.user, a.role) for a in db.predictions.answers_for(stored.id)] == [
        ("UAUTHOR", "author")
    ]
    assert db.predictions.labelled_rows() == [] and db.queue.status(stored.id) == "suggested"
    pick(STRANGER)  # anyone else: refused
    assert refusal(fake, 0).params["text"].startswith(":no_entry: Only the message's author")
    pick(LABELER)
    fake.wait_for(lambda: len(fake.calls("chat.update")) == 2, timeout=10)
    update = fake.calls("chat.update")[-1]
    assert update.params["ts"] == note.response["ts"]
    assert f"Recorded: negative by <@{LABELER}> (correction)" in json.dumps(update.params)
    assert db.predictions.labelled_rows() == [("abuse that should be tagged", "negative")]
    assert confirm_button["value"] == str(stored.id)


def shortcut(fake: FakeSlack, user: str, ts: str, team: str | None = None) -> str:
    return fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_correct_label",
            "trigger_id": "1.2.trigger",
            "user": {"id": user, "name": user.lower(), "team_id": team or fake.team_id},
            "channel": {"id": "C1", "name": "general"},
            "message": {"type": "message", "user": "UAUTHOR", "ts": ts, "text": "x"},
            "response_url": f"{fake.base_url}/response/shortcut-{user}",
        }
    )


def test_the_correct_label_shortcut_shows_the_controls_to_permitted_users(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}), autotag_channels=("C1",))
    fake, db = app.fake, app.db
    _, ts = fake.send_message_event("a quiet message", user_id="UAUTHOR")
    stored = fake.wait_for(lambda: db.predictions.find_by_message("C1", ts))

    shortcut(fake, STRANGER, ts)
    assert refusal(fake, 0).params["text"].startswith(":no_entry: Only the message's author")
    assert not fake.calls("chat.postEphemeral")
    shortcut(fake, LABELER, ts, team="TOTHER")
    refusal(fake, 1)
    assert [(e.user, e.allowed) for e in db.audit.recent()] == [
        (LABELER, False),
        (STRANGER, False),
    ]

    shortcut(fake, LABELER, ts)
    prompt = fake.wait_for_call("chat.postEphemeral", timeout=10)
    assert prompt.params["user"] == LABELER and prompt.params["channel"] == "C1"
    button = controls(prompt)[0]
    assert button["value"] == str(stored.id)
    fake.send_interactive(
        {
            "type": "block_actions",
            "user": {"id": LABELER, "username": "labeler", "team_id": fake.team_id},
            "container": {
                "type": "message",
                "message_ts": "1.2",
                "channel_id": "C1",
                "is_ephemeral": True,
            },
            "channel": {"id": "C1"},
            "response_url": f"{fake.base_url}/response/prompt",
            "actions": [
                {
                    "type": "button",
                    "action_id": CONFIRM_ACTION,
                    "block_id": FEEDBACK_BLOCK_ID,
                    "value": button["value"],
                }
            ],
        }
    )
    replaced = fake.wait_for_call("response_url", lambda c: c.params.get("replace_original"))
    assert f"Recorded: {stored.label} by <@{LABELER}> (confirmed)" in json.dumps(replaced.params)
    assert "asked" not in json.dumps(replaced.params)  # nobody asked for an auto-tag
    assert db.predictions.labelled_rows() == [("a quiet message", stored.label)]

    _, untagged = fake.send_message_event("elsewhere", channel_id="C2")
    shortcut(fake, LABELER, untagged)
    assert (
        "no label on this message"
        in fake.wait_for_call(
            "response_url", lambda c: "no label" in c.params.get("text", "")
        ).params["text"]
    )


def test_forget_deletes_a_persons_texts_and_answers_and_is_audited(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    reply = app.classify("my secret complaint")  # asked by U1
    pid = int(controls(reply)[0]["value"])
    confirm(app.fake, reply, "U1")
    app.fake.wait_for(lambda: app.db.predictions.answers_for(pid))
    other = app.db.predictions.record(text="a labeler's own question", label="neutral", user="U9")
    app.db.predictions.record_answer(other, "U1", "positive", role="labeler")
    assert "forget needs one person" in app.admin("forget everyone").params["text"]
    answer = app.admin("forget <@U1|ana>")
    assert answer.params["text"].startswith(":wastebasket: Forgot <@U1>: deleted 1 text")
    assert app.db.predictions.get(pid) is None
    assert app.db.predictions.answers_for(other) == []
    assert app.db.predictions.get(other).text == "a labeler's own question"
    entry = app.db.audit.recent(1)[0]
    assert (entry.user, entry.action, entry.allowed) == (ADMIN, "forget", True)
    assert "arguments 'U1'" in entry.detail and "ana" not in entry.detail  # the ID, no handle
    refused = app.admin("forget <@U9>", user=STRANGER)
    assert "Only Heed admins" in refused.params["text"]
    assert app.db.predictions.get(other) is not None
