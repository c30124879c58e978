"""The Bolt app in-process against the fake Slack, with a stub classifier (no torch):
private replies, apologies, acks that never wait for a slow model, auto-tagging and the Home
tab through the real listeners."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services
from tests.bot.stubs import PNG, VERSION, StubClassifier, services_for
from tests.support.fakeslack import FakeSlack
from tests.support.inprocess import InProcessApps


class Running:
    """A Bolt app on a Socket Mode connection to the fake, with its stub classifier."""

    def __init__(self, fake: FakeSlack, stub: StubClassifier, services: Services) -> None:
        self.fake, self.stub, self.services = fake, stub, services


@pytest.fixture
def start(fake: FakeSlack, tmp_path: Path) -> Iterator[Any]:
    apps = InProcessApps(fake)

    def run(stub: StubClassifier, **kw: Any) -> Running:
        services = services_for(tmp_path, stub, api_url=fake.api_url, **kw)
        apps.start(services)
        return Running(fake, stub, services)

    yield run
    apps.stop_all()


def test_a_public_reply_then_the_heatmap_in_the_same_place(start: Any) -> None:
    app = start(StubClassifier())
    fake = app.fake
    envelope = fake.send_slash_command("/classify", "-e rollout so good", channel_id="C2")
    assert fake.wait_for_ack(envelope).latency < 3
    reply = fake.wait_for_call("chat.postMessage", timeout=10)
    assert reply.params["channel"] == "C2" and "positive" in reply.params["text"]
    assert VERSION in reply.params["text"] and reply.params["blocks"]
    assert any(b.get("block_id") == "heed_feedback" for b in reply.params["blocks"])
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == "C2" and upload.data and upload.data.startswith(PNG)
    assert "rollout" in (upload.title or "")
    assert app.stub.explained == [("so good", "rollout")]


def test_empty_text_is_answered_with_the_usage_in_the_ack(start: Any) -> None:
    app = start(StubClassifier())
    fake = app.fake
    ack = fake.wait_for_ack(fake.send_slash_command("/classify", "   "))
    assert ack.latency < 3 and ack.payload is not None
    assert ack.payload["text"].startswith("Usage: `/classify")
    assert not app.stub.explained and not fake.calls("chat.postMessage")


def test_private_replies_are_ephemeral_and_the_png_goes_by_dm(start: Any) -> None:
    app = start(StubClassifier(), private_replies=True)
    fake = app.fake
    envelope = fake.send_slash_command("/classify", "-e rollout so good", user_id="U5")
    assert fake.wait_for_ack(envelope).latency < 3
    reply = fake.wait_for_call("chat.postEphemeral", timeout=10)
    assert reply.params["user"] == "U5" and reply.params["channel"] == "C1"
    assert "positive" in reply.params["text"] and VERSION in reply.params["text"]
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == "DU5" and upload.data and upload.data.startswith(PNG)
    assert fake.calls("conversations.open")[0].params["users"] == "U5"
    assert not fake.calls("chat.postMessage")
    assert app.stub.explained == [("so good", "rollout")]


def test_a_failure_gets_a_short_apology_and_a_log_line(
    start: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = start(StubClassifier(fail=True))
    fake = app.fake
    with caplog.at_level(logging.ERROR, logger="bot.services"):
        envelope = fake.send_slash_command("/classify", "boom", user_id="U9", channel_id="C2")
        assert fake.wait_for_ack(envelope).latency < 3
        answer = fake.wait_for_call("response_url", timeout=10)
    text = answer.params["text"]
    assert (
        text.startswith(":face_with_head_bandage: Sorry")
        and answer.params["response_type"] == "ephemeral"
    )
    assert "internal detail" not in text and "Traceback" not in text
    ref = text.split("ref `")[1].split("`")[0]
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert "command=/classify channel=C2 user=U9" in record.getMessage() and record.exc_info
    assert not fake.calls("chat.postMessage")


def test_acks_never_wait_for_a_slow_model(start: Any) -> None:
    app = start(StubClassifier(delay=0.4))
    fake = app.fake
    envelopes = [
        fake.send_slash_command("/classify", f"text {i}", channel_id=f"C{10 + i}") for i in range(6)
    ]
    acks = [fake.wait_for_ack(e, timeout=5) for e in envelopes]
    assert max(a.latency for a in acks) < 1.0  # while the model needs 2.4 s for all six
    fake.wait_for(
        lambda: len([c for c in fake.calls("chat.postMessage") if c.status == 200]) == 6,
        timeout=15,
    )


def test_home_tab_without_a_database(start: Any) -> None:
    app = start(StubClassifier(), autotag_channels=("C1", "#support"))
    fake = app.fake
    fake.send_event({"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"})
    view = fake.wait_for_call("views.publish", timeout=5).params["view"]
    assert view["type"] == "home" and VERSION in str(view) and "<#C1>" in str(view)
    assert "support" not in str(view)  # a channel's name is not shown to everyone


def test_autotag_batches_a_burst_in_process(start: Any) -> None:
    app = start(StubClassifier(label="negative"), autotag_channels=("C1",))
    fake = app.fake
    sent = [fake.send_message_event(f"msg {i}")[1] for i in range(10)]
    fake.wait_for(lambda: len(fake.calls("reactions.add")) == 10, timeout=10)
    assert {c.params["name"] for c in fake.calls("reactions.add")} == {"-1"}
    assert {c.params["timestamp"] for c in fake.calls("reactions.add")} == set(sent)
    assert len(app.stub.predict_calls) < 10 and sum(map(len, app.stub.predict_calls)) == 10


def test_autotag_tags_a_redelivered_message_once(start: Any) -> None:
    app = start(StubClassifier(label="negative"), autotag_channels=("C1",))
    fake = app.fake
    first, ts = fake.send_message_event("only once")
    fake.wait_for_ack(first, timeout=5)
    fake.wait_for(lambda: fake.calls("reactions.add"), timeout=10)
    fake.wait_for_ack(fake.redeliver(first), timeout=5)
    fake.wait_for_ack(fake.send_message_event("not configured", channel_id="C2")[0], timeout=5)
    _, later = fake.send_message_event("a later one")  # handled after the two above
    fake.wait_for(lambda: len(fake.calls("reactions.add")) >= 2, timeout=10)
    time.sleep(0.3)
    assert [c.params["timestamp"] for c in fake.calls("reactions.add")] == [ts, later]


def test_a_message_that_meets_a_full_queue_is_tagged_once_it_drains(start: Any) -> None:
    app = start(StubClassifier(label="negative"), autotag_channels=("C1",), job_queue=8)
    fake, jobs = app.fake, app.services.jobs
    gate = threading.Event()
    blockers = [jobs.submit(gate.wait) for _ in range(jobs.capacity)]  # every slot taken
    envelope, ts = fake.send_message_event("arrives while the queue is full")
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    time.sleep(1.0)  # the worker took it, met the full pool and handed it back
    assert not fake.calls("reactions.add") and app.services.db.pending.depth().pending == 1
    gate.set()
    for blocker in blockers:
        blocker.result(timeout=5)
    fake.wait_for(lambda: fake.calls("reactions.add"), timeout=10)
    time.sleep(0.3)
    assert [c.params["timestamp"] for c in fake.calls("reactions.add")] == [ts]
    assert app.services.db.pending.depth().pending == 0


def message_shortcut(fake: FakeSlack, text: str, channel_id: str, user_id: str = "U7") -> str:
    """Deliver a "Classify with Heed" click on a message, as Slack sends it."""
    return fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_classify_message",
            "trigger_id": "1.T1.trigger",
            "user": {"id": user_id, "username": user_id.lower()},
            "channel": {"id": channel_id, "name": channel_id.lower()},
            "message": {"type": "message", "user": "U2", "ts": "3.3", "text": text},
            "message_ts": "3.3",
            "response_url": f"{fake.base_url}/response/shortcut",
        }
    )


def test_the_message_shortcut_answers_privately_with_the_heatmap_by_dm(start: Any) -> None:
    app = start(StubClassifier(), explain_method="rollout")
    fake = app.fake
    fake.set_channel("C5", "support")
    envelope = message_shortcut(fake, "works &amp; great", "C5")
    assert fake.wait_for_ack(envelope).latency < 3
    reply = fake.wait_for_call("chat.postEphemeral", timeout=10)
    assert reply.params["channel"] == "C5" and reply.params["user"] == "U7"
    assert "positive" in reply.params["text"] and "rollout" in reply.params["text"]
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == "DU7" and upload.data and upload.data.startswith(PNG)
    assert app.stub.explained == [("works & great", "rollout")]
    assert not fake.calls("chat.postMessage")


def test_the_message_shortcut_answers_by_dm_where_heed_is_not_a_member(start: Any) -> None:
    app = start(StubClassifier())
    fake = app.fake
    envelope = message_shortcut(fake, "so good", "C404")  # a channel the fake does not know
    assert fake.wait_for_ack(envelope).latency < 3
    dm = fake.wait_for_call("chat.postMessage", timeout=10)
    assert dm.params["channel"] in ("DU7", "U7") and "positive" in dm.params["text"]
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=10)[0]
    assert upload.channel == "DU7"
