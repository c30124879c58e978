"""Appeals in-process against the fake Slack: only an auto-tagged message's author gets the
reason modal (from the thread note's button or the shortcut); submitting files the appeal,
first in the queue; a labeler's answer decides it and the author is told by DM; every step
is audited, and appeals past HEED_APPEALS_PER_DAY are refused."""

from __future__ import annotations

from typing import Any

from bot.blocks.appeal import (
    ALREADY_APPEALED,
    APPEAL_ACTION,
    APPEAL_BLOCK_ID,
    APPEAL_VIEW,
    NOT_YOURS,
    REASON_BLOCK,
    REASON_INPUT,
    rate_limited,
)
from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID, NOT_TAGGED
from bot.database.queue import Suggestion
from bot.handlers.appeal import APPEAL_LABEL
from bot.setting_kinds import Thresholds
from tests.support.fakeslack import Call, FakeSlack

AUTHOR, LABELER, STRANGER = "UAUTHOR", "ULABEL", "USTRANGER"


def tagged(app: Any, text: str) -> tuple[Call, int]:
    """Post ``text`` in the tagged channel; the thread note and the prediction id."""
    fake = app.fake
    _, ts = fake.send_message_event(text, user_id=AUTHOR)
    note = fake.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=10
    )
    return note, fake.wait_for(lambda: app.db.predictions.find_by_message("C1", ts)).id


def press_appeal(fake: FakeSlack, note: Call, user: str) -> None:
    [block] = [b for b in note.params["blocks"] if b.get("block_id") == APPEAL_BLOCK_ID]
    button = block["elements"][0]
    fake.send_block_action(
        APPEAL_ACTION,
        button["value"],
        user_id=user,
        message_ts=note.response["ts"],
        block_id=APPEAL_BLOCK_ID,
    )


def private_note(fake: FakeSlack, before: int) -> str:
    return fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=10)[0].params["text"]


def dms_to(fake: FakeSlack, user: str) -> list[str]:
    return [c.params["text"] for c in fake.calls("chat.postMessage") if c.params["channel"] == user]


def submit(fake: FakeSlack, reason: str, user: str = AUTHOR) -> None:
    view = fake.wait_for(lambda: fake.calls("views.open"), timeout=10)[-1].params["view"]
    value = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}}
    fake.send_view_submission(view, value, user_id=user)


def test_an_appeal_reaches_labelers_and_its_decision_the_author(heed: Any) -> None:
    app = heed(
        labelers=frozenset({LABELER}),
        autotag_channels=("C1",),
        autotag_notify=frozenset({"*"}),
        autotag_threshold=Thresholds(0.0),
    )
    fake, db = app.fake, app.db
    note, pid = tagged(app, "where is my parcel")

    press_appeal(fake, note, STRANGER)  # not the author: refused, no modal
    assert private_note(fake, 0) == NOT_YOURS
    assert not fake.calls("views.open")

    press_appeal(fake, note, AUTHOR)
    submit(fake, "it is a question, not a complaint")
    appeal = fake.wait_for(lambda: db.appeals.open_for(pid), timeout=10)
    assert appeal.reason == "it is a question, not a complaint"
    fake.wait_for(lambda: dms_to(fake, AUTHOR), timeout=10)
    [first] = db.queue.top("default", 1)
    assert first.prediction.id == pid
    assert first.suggestions == (Suggestion(AUTHOR, reason=appeal.reason),)

    press_appeal(fake, note, AUTHOR)  # a second appeal while one is open
    assert private_note(fake, 1) == ALREADY_APPEALED

    [block] = [b for b in note.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    fake.send_block_action(
        CONFIRM_ACTION,
        block["elements"][0]["value"],
        user_id=LABELER,
        message_ts=note.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
    )
    told = fake.wait_for(lambda: dms_to(fake, AUTHOR)[1:], timeout=10)[0]
    assert "was *upheld* by <@ULABEL>" in told
    assert db.appeals.open_for(pid) is None and db.queue.status(pid) == "answered"
    fake.wait_for(lambda: len(db.audit.recent()) == 6, timeout=10)  # the notice, after the DM
    steps = [(e.action, e.user, e.allowed) for e in reversed(db.audit.recent())]
    assert steps == [
        ("appeal", STRANGER, False),
        ("appeal", AUTHOR, True),
        ("appeal", AUTHOR, False),
        ("label", LABELER, True),
        ("appeal_decision", LABELER, True),
        ("appeal_notice", AUTHOR, True),
    ]


def test_the_shortcut_opens_the_modal_and_the_daily_limit_holds(heed: Any) -> None:
    app = heed(autotag_channels=("C1",), appeals_per_day=1)
    fake, db = app.fake, app.db
    _, ts = fake.send_message_event("first message", user_id=AUTHOR)
    first = fake.wait_for(lambda: db.predictions.find_by_message("C1", ts))
    _, later_ts = fake.send_message_event("second message", user_id=AUTHOR)
    second = fake.wait_for(lambda: db.predictions.find_by_message("C1", later_ts))

    def shortcut(message_ts: str) -> None:
        fake.send_interactive(
            {
                "type": "message_action",
                "callback_id": APPEAL_LABEL,
                "trigger_id": "1.2.trigger",
                "user": {"id": AUTHOR, "name": "author", "team_id": fake.team_id},
                "channel": {"id": "C1", "name": "general"},
                "message": {"type": "message", "user": AUTHOR, "ts": message_ts, "text": "x"},
                "response_url": f"{fake.base_url}/response/appeal-{message_ts}",
            }
        )

    shortcut(ts)
    submit(fake, "")
    fake.wait_for(lambda: db.appeals.open_for(first.id), timeout=10)
    shortcut(later_ts)
    assert private_note(fake, 0) == rate_limited(1)
    assert db.appeals.open_for(second.id) is None
    assert len(fake.calls("views.open")) == 1


def test_forged_buttons_and_modals_file_nothing(heed: Any) -> None:
    app = heed(autotag_channels=("C1",))
    fake, db = app.fake, app.db
    _, ts = fake.send_message_event("my own message", user_id=AUTHOR)
    theirs = fake.wait_for(lambda: db.predictions.find_by_message("C1", ts))
    for n, value in enumerate(("9" * 30, "abc", "-1")):
        fake.send_block_action(APPEAL_ACTION, value, user_id=AUTHOR, block_id=APPEAL_BLOCK_ID)
        assert private_note(fake, n) == NOT_TAGGED
    view = {"type": "modal", "callback_id": APPEAL_VIEW, "private_metadata": str(theirs.id)}
    fake.send_view_submission(view, {}, user_id=STRANGER)  # someone else's message
    fake.wait_for(lambda: db.audit.recent(1), timeout=10)
    [entry] = db.audit.recent()
    assert (entry.action, entry.user, entry.allowed) == ("appeal", STRANGER, False)
    assert db.appeals.open_for(theirs.id) is None and not fake.calls("views.open")
