"""The Bolt app in-process against the fake Slack, with a stub classifier (no torch):
private replies, apologies, acks that never wait for a slow model, the tag job's rules,
the Home tab, log redaction and the Web API client's retry handlers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.app import make_client, request_context
from bot.listeners.messages import is_taggable, tag_job
from bot.logs import RedactingFilter
from bot.services import Services
from bot.serving import ModelHolder
from bot.settings import Settings
from classifier.store import ModelStore
from classifier.types import Explanation, Prediction
from tests.fakeslack import FakeSlack
from tests.inprocess import InProcessApps

PNG = b"\x89PNG\r\n\x1a\n"
VERSION = "20260101-000000-abcdef"
LABELS = ("negative", "neutral", "positive")


class StubClassifier:
    """Says ``label`` with ``confidence`` to everything; ``delay`` seconds per explain,
    one explain at a time (like the real eager pass); ``fail`` raises from explain."""

    def __init__(
        self,
        version: str = "20260101-000000-abcdef",
        label: str = "positive",
        confidence: float = 0.9,
        delay: float = 0.0,
        fail: bool = False,
    ) -> None:
        self.version, self.label, self.confidence = version, label, confidence
        self.delay, self.fail = delay, fail
        self.labels = list(LABELS)
        self.max_length = 64
        self.predict_calls: list[list[str]] = []
        self.explained: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _prediction(self) -> Prediction:
        rest = (1 - self.confidence) / (len(self.labels) - 1)
        scores = {label: self.confidence if label == self.label else rest for label in LABELS}
        return Prediction(self.label, self.confidence, scores, self.version)

    def predict(self, texts: list[str]) -> list[Prediction]:
        self.predict_calls.append(list(texts))
        return [self._prediction() for _ in texts]

    def explain(self, text: str, method: str = "attention") -> Explanation:
        with self._lock:
            if self.fail:
                raise RuntimeError("internal detail that must not reach Slack")
            time.sleep(self.delay)
            self.explained.append((text, method))
        words = text.split()
        weights = [1 / len(words)] * len(words)
        return Explanation(method, words, weights, self._prediction())


class Running:
    """A Bolt app on a Socket Mode connection to the fake, with its stub classifier."""

    def __init__(self, fake: FakeSlack, stub: StubClassifier, services: Services) -> None:
        self.fake, self.stub, self.services = fake, stub, services


def settings_for(fake: FakeSlack, **kw: Any) -> Settings:
    return Settings(bot_token="xoxb-test", app_token="xapp-test", api_url=fake.api_url, **kw)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def start(fake: FakeSlack, tmp_path: Path) -> Iterator[Any]:
    apps = InProcessApps(fake)

    def run(stub: StubClassifier, **settings: Any) -> Running:
        (tmp_path / "current").write_text(stub.version + "\n")
        holder = ModelHolder(ModelStore(tmp_path), loader=lambda version, store: stub)
        holder.load()
        services = Services(settings_for(fake, **settings), holder)
        apps.start(services)
        return Running(fake, stub, services)

    yield run
    apps.stop_all()


def test_client_has_the_retry_handlers(fake: FakeSlack) -> None:
    client = make_client(settings_for(fake))
    kinds = [type(h) for h in client.retry_handlers]
    assert RateLimitErrorRetryHandler in kinds and ConnectionErrorRetryHandler in kinds
    limit = next(h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler))
    assert limit.max_retry_count == 3 and client.base_url == fake.api_url


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
    assert view["type"] == "home" and VERSION in str(view) and "#support" in str(view)


def test_autotag_batches_a_burst_in_process(start: Any) -> None:
    app = start(StubClassifier(label="negative"), autotag_channels=("C1",))
    fake = app.fake
    sent = [fake.send_message_event(f"msg {i}")[1] for i in range(10)]
    fake.wait_for(lambda: len(fake.calls("reactions.add")) == 10, timeout=10)
    assert {c.params["name"] for c in fake.calls("reactions.add")} == {"-1"}
    assert {c.params["timestamp"] for c in fake.calls("reactions.add")} == set(sent)
    assert len(app.stub.predict_calls) < 10 and sum(map(len, app.stub.predict_calls)) == 10


def done(prediction: Prediction) -> Future[Prediction]:
    future: Future[Prediction] = Future()
    future.set_result(prediction)
    return future


def run_tag(
    stub: StubClassifier, settings: Settings, client: MagicMock, tmp_path: Path
) -> MagicMock:
    (tmp_path / "current").write_text(stub.version + "\n")
    holder = ModelHolder(ModelStore(tmp_path), loader=lambda version, store: stub)
    holder.load()
    services = Services(settings, holder)
    event = {"channel": "C1", "ts": "1.5", "user": "U1", "text": "hello there"}
    tag_job(services, client, event, "hello there", done(stub._prediction()))
    services.close()
    return client


@pytest.mark.parametrize(
    "label,confidence,notify",
    [("positive", 0.95, True), ("positive", 0.5, False), ("negative", 0.99, False)],
)
def test_tag_job_notes_only_above_threshold_for_notify_labels(
    tmp_path: Path, label: str, confidence: float, notify: bool
) -> None:
    settings = Settings(
        bot_token="xoxb-x",
        app_token="xapp-x",
        autotag_threshold=0.9,
        autotag_notify=frozenset({"positive"}),
    )
    client = run_tag(
        StubClassifier(label=label, confidence=confidence), settings, MagicMock(), tmp_path
    )
    client.reactions_add.assert_called_once_with(
        channel="C1", timestamp="1.5", name=settings.emoji_for(label)
    )
    assert client.chat_postMessage.called is notify
    assert client.files_upload_v2.called is notify
    if notify:
        assert client.chat_postMessage.call_args.kwargs["thread_ts"] == "1.5"
        assert client.files_upload_v2.call_args.kwargs["file"].startswith(PNG)


def test_tag_job_skips_unmapped_labels_and_survives_reaction_errors(tmp_path: Path) -> None:
    settings = Settings(bot_token="xoxb-x", app_token="xapp-x", label_emoji={"positive": "+1"})
    client = run_tag(StubClassifier(label="neutral"), settings, MagicMock(), tmp_path)
    client.reactions_add.assert_not_called()
    client = MagicMock()
    client.reactions_add.side_effect = SlackApiError("x", {"ok": False, "error": "already_reacted"})
    run_tag(StubClassifier(label="positive"), settings, client, tmp_path)
    client.reactions_add.assert_called_once()


@pytest.mark.parametrize(
    "event,taggable",
    [
        ({"text": "hi"}, True),
        ({"text": "hi", "thread_ts": "1.0"}, True),
        ({"text": "hi", "subtype": "thread_broadcast"}, True),
        ({"text": "hi", "subtype": "message_changed"}, False),
        ({"text": "hi", "subtype": "message_deleted"}, False),
        ({"text": "hi", "subtype": "channel_join"}, False),
        ({"text": "hi", "subtype": "bot_message"}, False),
        ({"text": "hi", "bot_id": "B2"}, False),
        ({"text": "hi", "bot_profile": {"id": "B2"}}, False),
        ({"text": "hi", "user": "UBOT"}, False),
        ({"text": "hi", "hidden": True}, False),
        ({"text": "  "}, False),
    ],
)
def test_is_taggable(event: dict[str, Any], taggable: bool) -> None:
    full = {"type": "message", "channel": "C1", "ts": "1.1", "user": "U1", **event}
    assert is_taggable(full, "UBOT", "BBOT") is taggable


def test_redacting_filter_hides_tokens_and_secrets() -> None:
    flt = RedactingFilter(["s3cr3t-signing"])
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "auth %s and %s, secret %s",
        ("xoxb-1-abc", "xapp-1-A-b", "s3cr3t-signing"),
        None,
    )
    assert flt.filter(record)
    assert record.getMessage() == "auth [redacted] and [redacted], secret [redacted]"
    noisy = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        __file__,
        1,
        "As you gave `client` as well, x",
        None,
        None,
    )
    assert not flt.filter(noisy)


def test_request_context_for_every_kind_of_body() -> None:
    assert request_context({"command": "/classify", "channel_id": "C1", "user_id": "U1"}) == {
        "command": "/classify",
        "type": None,
        "channel": "C1",
        "user": "U1",
    }
    event = request_context({"event": {"type": "message", "channel": "C2", "user": "U2"}})
    assert (event["type"], event["channel"], event["user"]) == ("message", "C2", "U2")
    action = request_context(
        {"type": "block_actions", "channel": {"id": "C3"}, "user": {"id": "U3"}}
    )
    assert (action["type"], action["channel"], action["user"]) == ("block_actions", "C3", "U3")


def test_feedback_hook_adds_controls_to_the_reply(start: Any) -> None:
    app = start(StubClassifier())
    button = {
        "type": "button",
        "action_id": "heed_confirm",
        "text": {"type": "plain_text", "text": "Right"},
    }
    app.services.feedback_elements = lambda explanation, command: [button]
    fake = app.fake
    fake.send_slash_command("/classify", "so good")
    reply = fake.wait_for_call("chat.postMessage", timeout=10)
    assert reply.params["blocks"][-1] == {
        "type": "actions",
        "block_id": "heed_feedback",
        "elements": [button],
    }
