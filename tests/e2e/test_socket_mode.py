"""The real bot process in Socket Mode against the fake Slack: /classify and auto-tagging."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot.blocks.why_not import WHY_NOT_ACTION, WHY_NOT_BLOCK_ID
from tests.e2e.support import (
    PNG_SIGNATURE,
    VERSION,
    BotProcess,
    free_port,
    make_store,
    record_latency,
    start_socket_bot,
    wait_quiet,
)
from tests.support.attack import metrics_text, readiness
from tests.support.fakeslack import Call, FakeSlack

pytestmark = pytest.mark.e2e

LABELS = ("negative", "neutral", "positive")
EMOJI = {"negative": "-1", "neutral": "neutral_face", "positive": "+1"}
TAGGED_NAME_CHANNEL = "C7"  # configured by name (#tagged)
OPS_PORT = free_port()


@pytest.fixture(scope="module")
def store(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tiny_model, tmp_path_factory.mktemp("socket-store"))


@pytest.fixture(scope="module")
def bot(
    fake: FakeSlack, store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    fake.set_channel(TAGGED_NAME_CHANNEL, "tagged")
    yield from start_socket_bot(
        fake,
        store,
        tmp_path_factory.mktemp("socket-bot"),
        HEED_AUTOTAG_CHANNELS="C1, #tagged",
        HEED_LABEL_EMOJI=",".join(f"{k}={v}" for k, v in EMOJI.items()),
        HEED_AUTOTAG_NOTIFY="neutral",
        HEED_AUTOTAG_THRESHOLD="0.2",
        HEED_OPS_PORT=str(OPS_PORT),
    )


@pytest.fixture
def slack(fake: FakeSlack, bot: BotProcess) -> FakeSlack:
    """The fake, with the records of earlier tests forgotten."""
    wait_quiet(fake, 0.3)
    fake.reset()
    return fake


CLOCK_SKEW = 0.005
"""Seconds the fake's WebSocket thread may lag its HTTP thread in noting an arrival."""


def replies(fake: FakeSlack, channel: str) -> list[Call]:
    """Successful Block Kit replies posted to ``channel``."""
    return [
        c
        for c in fake.calls("chat.postMessage")
        if c.status == 200
        and c.response.get("ok")
        and c.params.get("channel") == channel
        and c.params.get("blocks")
    ]


def completed_uploads(fake: FakeSlack, channel: str) -> list:
    return [u for u in fake.uploads if u.completed and u.channel == channel]


def blocks_text(call: Call) -> str:
    return json.dumps(call.params.get("blocks", []), ensure_ascii=False)


def assert_png(data: bytes | None) -> None:
    assert data is not None and data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.verify()
    assert image.format == "PNG"


def classify(fake: FakeSlack, text: str, channel: str = "C1", **kw: str) -> tuple[str, Call]:
    """Send /classify, wait for its ack and reply; returns (envelope id, reply call)."""
    envelope = fake.send_slash_command("/classify", text, channel_id=channel, **kw)
    ack = fake.wait_for_ack(envelope, timeout=5)
    assert ack.latency < 3
    reply = fake.wait_for(lambda: replies(fake, channel), timeout=20, what=f"reply in {channel}")
    return envelope, reply[-1]


def test_classify_replies_with_label_version_and_png(slack: FakeSlack) -> None:
    acks, answered, uploaded = [], [], []
    for i in range(6):
        channel = f"C{200 + i}"
        envelope, reply = classify(slack, f"the battery died after {i} days, total waste", channel)
        done = slack.wait_for(
            lambda ch=channel: completed_uploads(slack, ch), timeout=20, what="upload"
        )
        complete = slack.wait_for_call(
            "files.completeUploadExternal", lambda c, ch=channel: c.params.get("channel_id") == ch
        )
        ack = slack.wait_for_ack(envelope)
        # Slack had the ack before any reply work showed (the fake reads the WebSocket and the
        # Web API on separate threads: a few milliseconds of skew between its two clocks)
        assert ack.acked_at <= reply.time + CLOCK_SKEW
        acks.append(ack.latency)
        answered.append(reply.time - ack.sent_at)
        uploaded.append(complete.time - ack.sent_at)
        # the reply: label, every class's confidence, method, model version
        text = reply.params["text"]
        assert re.search(r"\b(negative|neutral|positive)\b", text) and VERSION in text
        body = blocks_text(reply)
        assert all(label in body for label in LABELS)
        assert "attn-grad" in body and VERSION in body and "%" in body  # the default method
        assert reply.params.get("thread_ts") is None
        # the heatmap: a real PNG through the v2 flow, into the invoking channel
        [upload] = done
        assert_png(upload.data)
        assert upload.filename.endswith(".png") and upload.thread_ts is None
        assert ack.payload in (None, {})
    methods = [c.method for c in slack.calls() if c.method != "reactions.add"]
    start = methods.index("files.getUploadURLExternal")
    assert methods[start : start + 3] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert all(c.token == "xoxb-test" for c in slack.calls("chat.postMessage"))
    record_latency("single", "ack", acks)
    record_latency("single", "reply", answered)
    record_latency("single", "upload", uploaded)


@pytest.mark.parametrize("text", ["", "   ", "--explain rollout", "help"])
def test_empty_classify_gets_help_and_no_upload(slack: FakeSlack, text: str) -> None:
    envelope = slack.send_slash_command("/classify", text)
    ack = slack.wait_for_ack(envelope, timeout=5)
    assert ack.latency < 3
    assert ack.payload and "Usage" in ack.payload["text"] and "/classify" in ack.payload["text"]
    time.sleep(0.5)
    assert not slack.calls("chat.postMessage") and not slack.calls("files.getUploadURLExternal")


def test_unknown_explain_method_gets_help(slack: FakeSlack) -> None:
    envelope = slack.send_slash_command("/classify", "--explain shap nice product")
    ack = slack.wait_for_ack(envelope, timeout=5)
    assert "unknown explanation method 'shap'" in ack.payload["text"]
    assert "Usage" in ack.payload["text"]


@pytest.mark.parametrize(
    "flags,method", [("--explain rollout", "rollout"), ("-e gradient", "gradient")]
)
def test_explain_method_is_honoured(slack: FakeSlack, flags: str, method: str) -> None:
    _, reply = classify(slack, f"{flags} it arrived on time and works", channel="C1")
    assert method in blocks_text(reply) and method in reply.params["text"]
    assert "--explain" not in blocks_text(reply) and "-e " not in blocks_text(reply)
    [upload] = slack.wait_for(lambda: completed_uploads(slack, "C1"), timeout=20)
    assert method in (upload.title or "")
    assert_png(upload.data)


def test_long_text_is_classified_truncated_and_says_so(slack: FakeSlack) -> None:
    _, reply = classify(slack, "the cable arrived on tuesday " * 60, channel="C1")
    assert "limit of 64 tokens" in blocks_text(reply)


def test_reply_goes_to_the_thread_when_invoked_in_one(slack: FakeSlack) -> None:
    _, reply = classify(slack, "nice", channel="C1", thread_ts="1700000000.000100")
    assert reply.params["thread_ts"] == "1700000000.000100"
    [upload] = slack.wait_for(lambda: completed_uploads(slack, "C1"), timeout=20)
    assert upload.thread_ts == "1700000000.000100"


def test_rate_limited_reply_is_retried_after_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    _, reply = classify(slack, "works fine", channel="C1")
    first, second = slack.calls("chat.postMessage")[:2]
    assert (first.status, second.status) == (429, 200) and second is reply
    slack.wait_for(lambda: completed_uploads(slack, "C1"), timeout=20)


def test_upload_failure_leaves_the_reply_and_a_note(slack: FakeSlack) -> None:
    slack.fail_uploads(times=1)
    _, reply = classify(slack, "great sound", channel="C1")
    note = slack.wait_for_call(
        "chat.postMessage",
        lambda c: "couldn't upload the heatmap" in c.params.get("text", ""),
        timeout=20,
    )
    assert note.params["channel"] == "C1" and "HTTP 500" in note.params["text"]
    assert reply.response["ok"] and not completed_uploads(slack, "C1")


def test_not_in_channel_falls_back_to_response_url(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", error="not_in_channel")
    envelope = slack.send_slash_command("/classify", "where am i", channel_id="C1")
    assert slack.wait_for_ack(envelope, timeout=5).latency < 3
    answer = slack.wait_for_call("response_url", timeout=20)
    assert answer.params["response_type"] == "in_channel"
    assert VERSION in answer.params["text"] and "invite Heed" in json.dumps(answer.params)
    time.sleep(0.3)
    assert not slack.calls("files.getUploadURLExternal")


def test_twenty_concurrent_commands_all_acked_and_answered(slack: FakeSlack) -> None:
    channels = [f"C{100 + i}" for i in range(20)]
    envelopes = [  # twenty people at once (each well within HEED_CLASSIFY_PER_MINUTE)
        slack.send_slash_command(
            "/classify", f"order {i} arrived broken", channel_id=ch, user_id=f"U{100 + i}"
        )
        for i, ch in enumerate(channels)
    ]
    acks = [slack.wait_for_ack(e, timeout=10) for e in envelopes]
    assert max(a.latency for a in acks) < 3, [round(a.latency, 3) for a in acks]
    slack.wait_for(
        lambda: all(replies(slack, ch) for ch in channels), timeout=60, what="20 replies"
    )
    slack.wait_for(
        lambda: all(completed_uploads(slack, ch) for ch in channels), timeout=60, what="uploads"
    )
    answered, uploaded = [], []
    for ack, channel in zip(acks, channels, strict=True):
        [reply] = replies(slack, channel)
        assert ack.acked_at <= reply.time + CLOCK_SKEW
        complete = slack.wait_for_call(
            "files.completeUploadExternal", lambda c, ch=channel: c.params.get("channel_id") == ch
        )
        answered.append(reply.time - ack.sent_at)
        uploaded.append(complete.time - ack.sent_at)
        assert_png(completed_uploads(slack, channel)[0].data)
    record_latency("20 concurrent", "ack", [a.latency for a in acks])
    record_latency("20 concurrent", "reply", answered)
    record_latency("20 concurrent", "upload", uploaded)


def _reactions(fake: FakeSlack) -> list[tuple[str, str, str]]:
    return [
        (c.params["channel"], c.params["timestamp"], c.params["name"])
        for c in fake.calls("reactions.add")
    ]


def test_autotag_reacts_once_per_human_message_only(slack: FakeSlack, bot: BotProcess) -> None:
    expected_emoji = EMOJI["neutral"]  # the tiny random model says "neutral" to everything
    human, ts1 = slack.send_message_event("the box arrived on tuesday", channel_id="C1")
    _, ts2 = slack.send_message_event("love it", channel_id=TAGGED_NAME_CHANNEL)
    _, ts3 = slack.send_message_event("in a thread", channel_id="C1", thread_ts=ts1)
    # none of these may be tagged
    slack.send_message_event("other channel", channel_id="C2")
    slack.send_message_event("a bot", channel_id="C1", bot_id="B9")
    slack.send_message_event("a bot message", channel_id="C1", subtype="bot_message")
    slack.send_message_event("my own reply", channel_id="C1", user_id="UBOT")
    slack.send_event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "ts": "1700000001.000001",
            "message": {"type": "message", "user": "U1", "text": "edited", "ts": ts1},
        }
    )
    slack.send_event(
        {"type": "message", "subtype": "message_deleted", "channel": "C1", "ts": "1700000001.2"}
    )
    slack.send_message_event(
        "<@U1> has joined the channel", channel_id="C1", subtype="channel_join"
    )
    slack.send_message_event("   ", channel_id="C1")
    # Slack redelivers the first event (same event_id, retry_attempt=1), and the same
    # message arrives once more under another event id
    slack.wait_for_ack(human, timeout=5)
    slack.redeliver(human)
    event = slack.envelope(human)["payload"]["event"]
    slack.send_event(event)

    want = {("C1", ts1, expected_emoji), (TAGGED_NAME_CHANNEL, ts2, expected_emoji)}
    want.add(("C1", ts3, expected_emoji))
    slack.wait_for(lambda: set(_reactions(slack)) >= want, timeout=20, what="3 reactions")
    wait_quiet(slack, 0.8)
    assert sorted(_reactions(slack)) == sorted(want)  # exactly once each, nothing else

    # at or above the threshold, for a notify label: a thread note and the heatmap
    def notes() -> list[tuple[str, str]]:
        return sorted(
            (c.params["channel"], c.params.get("thread_ts"))
            for c in slack.calls("chat.postMessage")
            if "Heed tagged this *neutral*" in c.params.get("text", "") and "%" in c.params["text"]
        )

    want_threads = sorted([("C1", ts1), ("C1", ts1), (TAGGED_NAME_CHANNEL, ts2)])
    slack.wait_for(lambda: len(notes()) >= 3, timeout=20, what="3 thread notes")
    assert notes() == want_threads

    def thread_uploads() -> list:
        done = [u for u in slack.uploads if u.completed]
        return done if len(done) >= 3 else []

    uploads = slack.wait_for(thread_uploads, timeout=20, what="3 thread heatmaps")
    assert sorted((u.channel, u.thread_ts) for u in uploads) == want_threads
    for upload in uploads:
        assert_png(upload.data)
    assert len(slack.calls("conversations.info")) <= 2  # names resolved once per channel
    assert "redelivered" in bot.log()


def test_a_burst_beyond_the_queue_is_tagged_in_batches_once_each(
    slack: FakeSlack, bot: BotProcess
) -> None:
    before = len(re.findall(r"classified a batch of (\d+)", bot.log()))
    burst = 80  # more than the 32 a replica holds in memory (half of HEED_JOB_QUEUE): the rest
    sent = [slack.send_message_event(f"message number {i}", channel_id="C1") for i in range(burst)]
    acks = [slack.wait_for_ack(envelope, timeout=10) for envelope, _ in sent]
    assert max(a.latency for a in acks) < 3
    slack.wait_for(
        lambda: {ts for _, ts, _ in _reactions(slack)} >= {ts for _, ts in sent},
        timeout=60,
        what=f"{burst} reactions",
    )
    wait_quiet(slack, 0.5)
    assert len(_reactions(slack)) == burst  # each once
    sizes = [int(n) for n in re.findall(r"classified a batch of (\d+)", bot.log())[before:]]
    assert sum(sizes) == burst and len(sizes) < burst and max(sizes) > 1, sizes
    assert "heed_autotag_pending 0.0" in metrics_text("127.0.0.1", OPS_PORT)  # none left


def test_no_secret_in_the_log(bot: BotProcess) -> None:
    log = bot.log()
    assert "xoxb-test" not in log and "xapp-test" not in log
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO", log)


def test_promotion_is_served_without_restart(
    slack: FakeSlack, store: Path, bot: BotProcess
) -> None:
    new = "20260102-000000-bcdef0"
    shutil.copytree(store / VERSION, store / new)
    (store / "current").write_text(new + "\n", encoding="utf-8")
    bot.wait_until(lambda: f"serving model {new}" in bot.log(), timeout=30, what="swapped")
    _, reply = classify(slack, "after the swap", channel="C1")
    assert new in reply.params["text"] and bot.proc.poll() is None


DOWN = {
    "ready": False,
    "checks": {
        "model": "ok",
        "database": "ok",
        "autotag_queue": "ok",
        "slack": "the Socket Mode connection to Slack is down",
    },
}


def test_the_ops_port_answers_health_readiness_and_metrics(slack: FakeSlack) -> None:
    status, answer = readiness("127.0.0.1", OPS_PORT)
    assert status == 200
    checks = {"model": "ok", "database": "ok", "autotag_queue": "ok", "slack": "ok"}
    assert answer == {"ready": True, "checks": checks}
    envelope = slack.send_slash_command("/classify", "ops check", channel_id="C1", user_id="U77")
    slack.wait_for_ack(envelope, timeout=10)
    slack.wait_for(lambda: replies(slack, "C1"), timeout=30, what="the reply")
    text = metrics_text("127.0.0.1", OPS_PORT)
    assert 'heed_ack_seconds_count{kind="classify"}' in text
    assert re.search(r'heed_model_info\{version="\d{8}-\d{6}-\w+"\} 1.0', text)
    slack.fail_next("apps.connections.open", status=500)  # a new URL cannot be had
    slack.refuse_connections(4.0)  # nor the old one used: ready again only once connected
    slack.close_connections()
    slack.wait_for(
        lambda: [1] if readiness("127.0.0.1", OPS_PORT) == (503, DOWN) else [],
        timeout=10,
        what="503",
    )
    slack.wait_for(
        lambda: [1] if readiness("127.0.0.1", OPS_PORT)[0] == 200 else [], timeout=30, what="200"
    )


def test_why_not_explains_the_margin_with_the_real_model(slack: FakeSlack) -> None:
    channel = "C290"
    _, reply = classify(slack, "the battery died after two days, total waste", channel)
    [menu] = [b for b in reply.params["blocks"] if b.get("block_id") == WHY_NOT_BLOCK_ID]
    runner_up = menu["elements"][0]["options"][0]
    slack.send_block_action(
        WHY_NOT_ACTION,
        user_id="U1",
        channel_id=channel,
        message_ts=reply.response["ts"],
        block_id=WHY_NOT_BLOCK_ID,
        selected_option=runner_up,
    )
    versus = runner_up["text"]["text"].removeprefix("Why not ").removesuffix("?")
    answer = slack.wait_for_call(
        "response_url", lambda c: f"not {versus}" in c.params["text"], timeout=20
    )
    assert answer.params["response_type"] == "ephemeral"
    assert f"toward *{versus}*" in json.dumps(answer.params["blocks"])
    upload = slack.wait_for_call(
        "files.completeUploadExternal", lambda c: c.params.get("channel_id") == "DU1", timeout=20
    )
    assert f"not {versus}" in json.dumps(upload.params)
