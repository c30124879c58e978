"""Acting safely, in-process against the fake Slack: suggest mode posts to the review channel
and adds nothing to the channel; Confirm there records a trusted answer, Dismiss is for
labelers and admins; an abstention says "Not sure" and queues first; a dry run reads the
history page by page and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.feedback import CONFIRM_ACTION, FEEDBACK_BLOCK_ID
from bot.blocks.review import DISMISS_ACTION
from bot.setting_kinds import Thresholds
from tests.bot.conftest import ADMIN
from tests.support.fakeslack import Call, FakeSlack

LABELER, STRANGER, REVIEW = "ULABEL", "USTRANGER", "C0REVIEW"


@pytest.fixture(autouse=True)
def no_page_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack_api.history.PAGE_PAUSE", 0.0)


def review_post(fake: FakeSlack) -> Call:
    return fake.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("channel") == REVIEW, timeout=10
    )


def click(fake: FakeSlack, post: Call, action: str, user: str) -> None:
    [controls] = [b for b in post.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    [button] = [e for e in controls["elements"] if e["action_id"] == action]
    fake.send_block_action(
        action,
        button["value"],
        user_id=user,
        channel_id=REVIEW,
        message_ts=post.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
    )


def test_suggest_mode_posts_to_the_review_channel_only_and_confirm_is_trusted(heed: Any) -> None:
    app = heed(
        labelers=frozenset({LABELER}),
        autotag_channels=("C1",),
        autotag_notify=frozenset({"positive"}),
        autotag_threshold=Thresholds(0.8, {"positive": 0.85}),
        autotag_mode="suggest",
        review_channel=REVIEW,
    )
    fake, db = app.fake, app.db
    fake.set_channel(REVIEW, "review")
    _, ts = fake.send_message_event("what a lovely day", user_id="UAUTHOR")
    post = review_post(fake)
    blocks = json.dumps(post.params["blocks"], ensure_ascii=False)
    assert "confidence 0.90 ≥ threshold 0.85" in blocks and "<@UAUTHOR>" in blocks
    assert f"/archives/C1/p{ts.replace('.', '')}" in blocks  # the message's permalink
    assert "Suggest mode" in blocks and "react :+1:" in blocks
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == REVIEW and upload.thread_ts == post.response["ts"]
    assert not fake.calls("reactions.add")
    assert not [c for c in fake.calls("chat.postMessage") if c.params.get("channel") == "C1"]
    stored = db.predictions.find_by_message("C1", ts)
    assert stored is not None and stored.source == "autotag"

    click(fake, post, DISMISS_ACTION, STRANGER)
    refused = fake.wait_for(lambda: fake.calls("response_url"), timeout=10)[0]
    assert refused.params["text"].startswith(":no_entry: Only Heed's labelers")
    click(fake, post, CONFIRM_ACTION, LABELER)
    update = fake.wait_for_call("chat.update", timeout=10)
    assert f"Recorded: positive by <@{LABELER}> (confirmed)" in json.dumps(
        update.params, ensure_ascii=False
    )
    [answer] = db.predictions.answers_for(stored.id)
    assert (answer.user, answer.role, answer.chosen_label) == (LABELER, "labeler", "positive")

    click(fake, post, DISMISS_ACTION, ADMIN)
    dismissed = fake.wait_for(lambda: fake.calls("chat.update")[1:], timeout=10)[0]
    assert f"Dismissed by <@{ADMIN}>" in json.dumps(dismissed.params["blocks"], ensure_ascii=False)
    assert FEEDBACK_BLOCK_ID not in [b.get("block_id") for b in dismissed.params["blocks"]]
    audit = [(e.user, e.action, e.allowed) for e in reversed(db.audit.recent())]
    assert audit == [(STRANGER, "review", False), (LABELER, "label", True), (ADMIN, "review", True)]


def test_below_abstain_below_classify_says_not_sure_first(heed: Any) -> None:
    app = heed(abstain_below=0.95)  # the stub says positive at 0.90
    reply = app.classify("hmm, maybe")
    first = reply.params["blocks"][0]["text"]["text"]
    assert first.startswith(":grey_question: *Not sure*")
    assert "*positive* 90.0% · *negative* 5.0%" in first
    assert reply.params["text"].startswith("Not sure: positive")
    assert app.fake.wait_for(lambda: app.fake.uploads, timeout=10)  # the heatmap still


def test_an_abstained_auto_tag_gets_the_not_sure_emoji_and_leads_the_queue(heed: Any) -> None:
    app = heed(autotag_channels=("C1",), abstain_below=0.95, not_sure_emoji="thinking_face")
    fake, db = app.fake, app.db
    _, ts = fake.send_message_event("not sure about this one")
    reaction = fake.wait_for_call("reactions.add", timeout=10)
    assert (reaction.params["timestamp"], reaction.params["name"]) == (ts, "thinking_face")
    fake.wait_for(lambda: db.queue.top("default", 5), timeout=10)
    app.classify("a later classify, as unsure")  # newer wins ties: not over an abstention
    first, later = db.queue.top("default", 5)
    assert first.prediction.message_ts == ts and later.prediction.source == "classify"
    shown = json.dumps(app.admin("queue").params["blocks"], ensure_ascii=False)
    assert shown.count("not sure, queued first · uncertainty 0.15") == 1


def test_a_dry_run_reads_the_history_in_pages_and_stores_nothing(heed: Any) -> None:
    app = heed()
    fake, db = app.fake, app.db
    fake.add_history("C2", [f"old message {i}" for i in range(499)])
    fake.add_history("C2", ["a bot said this"], user_id="UBOT")  # this app's: skipped
    fake.fail_next("conversations.history", status=429, retry_after=0)
    started = app.admin("dry-run <#C2|random> --messages 500")
    assert "reading up to 500 messages" in started.params["text"]
    report = fake.wait_for(
        lambda: [c for c in fake.calls("response_url") if ":bar_chart:" in c.params["text"]],
        timeout=20,
    )[0]
    text = json.dumps(report.params["blocks"], ensure_ascii=False)
    assert "499 of 500 messages classified (1 skipped" in report.params["text"]
    assert "positive    499 100.0%" in text and "now" in text and "0.90" in text
    assert "old message" in text  # examples, privately
    pages = [c for c in fake.calls("conversations.history") if c.status == 200]
    assert [c.params.get("cursor") for c in pages] == [None, "offset:200", "offset:400"]
    assert db.predictions.get(1) is None  # no text stored
    assert not fake.calls("reactions.add")
    [entry] = db.audit.recent()
    assert (entry.user, entry.action, entry.allowed) == (ADMIN, "dry-run", True)


def test_a_dry_run_is_for_admins_and_says_why_it_cannot_read(heed: Any) -> None:
    app = heed(labelers=frozenset({LABELER}))
    refused = app.admin("dry-run <#C2|random>", user=LABELER)
    assert refused.params["text"].startswith(":no_entry: Only Heed admins")
    app.fake.fail_next("conversations.history", error="not_in_channel")
    app.admin("dry-run <#C2|random>")
    said = app.fake.wait_for(
        lambda: [c for c in app.fake.calls("response_url") if "can't read" in c.params["text"]],
        timeout=10,
    )[0]
    assert "`/invite @Heed`" in said.params["text"]


def test_a_forged_dismiss_is_refused_and_audited(heed: Any) -> None:
    app = heed()
    for value in ("not-an-id", "9" * 40, "424242"):
        app.fake.send_block_action(DISMISS_ACTION, value, user_id=ADMIN, block_id=FEEDBACK_BLOCK_ID)
    app.fake.wait_for(lambda: len(app.fake.calls("response_url")) == 3, timeout=10)
    said = app.fake.calls("response_url")
    assert all("doesn't know that answer" in c.params["text"] for c in said)
    assert [e.allowed for e in app.db.audit.recent()] == [False] * 3
    assert not app.fake.calls("chat.update")


def test_a_dry_run_by_days_sends_heatmaps_on_request(heed: Any) -> None:
    app = heed()
    fake = app.fake
    fake.add_history("C2", ["first words", "second words"])
    app.admin("dry-run --days 2 <#C2|random> --heatmaps")
    fake.wait_for(
        lambda: [c for c in fake.calls("response_url") if ":bar_chart:" in c.params["text"]],
        timeout=10,
    )
    [page] = fake.calls("conversations.history")
    assert float(page.params["oldest"]) > 0  # two days back, not the whole history
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == f"D{ADMIN}" and upload.filename == "heed-heatmap.png"
