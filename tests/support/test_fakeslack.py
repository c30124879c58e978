"""The fake Slack works with the real slack_sdk WebClient and slack_bolt Socket Mode."""

from __future__ import annotations

import time
from typing import Any
from urllib.error import HTTPError

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.support.fakeslack import FakeSlack

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(base_url=fake.api_url, token=BOT_TOKEN, timeout=5)


def test_serves_loopback_and_records_calls(fake: FakeSlack, client: WebClient) -> None:
    assert fake.api_url == f"http://127.0.0.1:{fake.port}/api/"
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*positive*"}}]
    posted = client.chat_postMessage(channel="C1", text="hi", blocks=blocks, thread_ts="1.2")
    assert posted["channel"] == "C1" and posted["message"]["blocks"] == blocks
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="edited")
    assert updated["message"]["text"] == "edited"

    call = fake.calls("chat.postMessage")[0]
    assert call.token == BOT_TOKEN and call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.params == {"channel": "C1", "text": "hi", "blocks": blocks, "thread_ts": "1.2"}
    assert [c.method for c in fake.calls()] == ["auth.test", "chat.postMessage", "chat.update"]
    times = [c.time for c in fake.calls()]
    assert times == sorted(times)

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts="9.9", text="x")
    assert err.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C404", text="x")
    assert err.value.response["error"] == "channel_not_found"

    fake.reset()
    assert fake.calls() == []


def test_tokens_and_unknown_methods(fake: FakeSlack, client: WebClient) -> None:
    opened = client.apps_connections_open(app_token=APP_TOKEN)
    assert opened["url"].startswith(f"ws://127.0.0.1:{fake.port}/socket?ticket=")
    assert fake.calls("apps.connections.open")[0].token == APP_TOKEN
    with pytest.raises(SlackApiError) as err:
        client.apps_connections_open(app_token=BOT_TOKEN)
    assert err.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.api_url, timeout=5).auth_test()
    assert err.value.response["error"] == "not_authed"

    with pytest.raises(SlackApiError) as err:
        client.api_call("admin.nothing", params={"x": "1"})
    assert err.value.response["error"] == "unknown_method"
    assert fake.calls("admin.nothing")[0].params == {"x": "1"}


def test_users_channels_views_reactions(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user("UADMIN", is_admin=True)
    assert client.users_info(user="UADMIN")["user"]["is_admin"] is True
    plain = client.users_info(user="U7")["user"]
    assert not plain["is_admin"] and not plain["is_owner"] and not plain["is_bot"]
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True

    fake.set_channel("C9", "support")
    assert client.conversations_info(channel="C9")["channel"]["name"] == "support"
    dm = client.conversations_open(users="U7")["channel"]["id"]
    assert dm.startswith("D") and client.conversations_info(channel=dm)["channel"]["is_im"]
    assert client.chat_postMessage(channel="U7", text="psst")["channel"] == dm
    assert client.chat_postEphemeral(channel="C1", user="U7", text="only you")["message_ts"]

    section = {"type": "section", "text": {"type": "plain_text", "text": "hi"}}
    view = {"type": "home", "blocks": [section]}
    assert client.views_publish(user_id="U7", view=view)["view"]["type"] == "home"
    assert fake.calls("views.publish")[0].params["view"] == view

    ts = client.chat_postMessage(channel="C1", text="tag me")["ts"]
    client.reactions_add(channel="C1", timestamp=ts, name="thumbsup")
    with pytest.raises(SlackApiError) as err:
        client.reactions_add(channel="C1", timestamp=ts, name="thumbsup")
    assert err.value.response["error"] == "already_reacted"


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="C1",
        thread_ts="1700000000.000100",
        content=PNG,
        filename="heatmap.png",
        title="Why",
        initial_comment="see",
    )
    assert resp["file"]["name"] == "heatmap.png" and resp["file"]["size"] == len(PNG)
    [upload] = fake.uploads
    assert upload.data == PNG and upload.filename == "heatmap.png" and upload.completed
    assert (upload.channel, upload.thread_ts, upload.title) == ("C1", "1700000000.000100", "Why")
    assert upload.initial_comment == "see" and upload.length == len(PNG)
    assert fake.calls("upload")[0].body == PNG
    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_upload_failure_raises(fake: FakeSlack, client: WebClient) -> None:
    # slack_sdk posts the bytes with bare urlopen: an HTTP error status raises HTTPError,
    # any other non-200 status raises SlackRequestError; retry handlers are not consulted.
    fake.fail_uploads(times=1)
    with pytest.raises(HTTPError) as http_err:
        client.files_upload_v2(channel="C1", content=b"abc", filename="a.png")
    assert http_err.value.code == 500
    fake.fail_uploads(times=1, status=202)
    with pytest.raises(SlackRequestError, match="status: 202"):
        client.files_upload_v2(channel="C1", content=b"abc", filename="a.png")
    assert not fake.calls("files.completeUploadExternal")
    assert all(u.data is None and not u.completed for u in fake.uploads)
    client.files_upload_v2(channel="C1", content=b"abc", filename="a.png")
    assert fake.uploads[2].completed and fake.uploads[2].data == b"abc"


def test_rate_limit_is_retried_by_retry_handler(fake: FakeSlack) -> None:
    retrying = WebClient(
        base_url=fake.api_url,
        token=BOT_TOKEN,
        timeout=5,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    assert retrying.chat_postMessage(channel="C1", text="hi")["ok"]
    first, second = fake.calls("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.time > first.time

    plain = WebClient(base_url=fake.api_url, token=BOT_TOKEN, timeout=5)
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        plain.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])


def test_injected_error(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="is_archived", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "is_archived"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_wait_for_times_out_with_a_dump(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"(?s)chat\.postMessage call.*auth\.test"):
        fake.wait_for_call("chat.postMessage", timeout=0.2)
    assert time.monotonic() - start < 2
    with pytest.raises(AssertionError, match="no Socket Mode client"):
        fake.send_slash_command("/classify", "x")


def _bolt_app(fake: FakeSlack, seen: dict[str, Any]) -> App:
    web = WebClient(
        base_url=fake.api_url,
        token=BOT_TOKEN,
        timeout=5,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    app = App(client=web, signing_secret="unused-in-socket-mode")

    @app.command("/classify")
    def classify(ack: Any, command: dict[str, Any], say: Any, respond: Any) -> None:
        ack()
        seen["command"] = command
        say(text=f"label for {command['text']}")
        respond(text="done")

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, request: Any) -> None:
        seen.setdefault("retry_nums", []).append(request.headers["x-slack-retry-num"][0])
        try:
            client.reactions_add(channel=event["channel"], timestamp=event["ts"], name="eyes")
        except SlackApiError as e:
            seen.setdefault("errors", []).append(e.response["error"])

    @app.action("feedback")
    def feedback(ack: Any, body: dict[str, Any]) -> None:
        ack()
        seen["action"] = body["actions"][0]["value"]

    return app


def test_bolt_socket_mode_end_to_end(fake: FakeSlack) -> None:
    seen: dict[str, Any] = {}
    handler = SocketModeHandler(_bolt_app(fake, seen), APP_TOKEN)
    try:
        handler.connect()  # bounded: the builtin client's socket has a 3 s timeout
        fake.wait_connected(timeout=5)
        assert fake.calls("apps.connections.open")[0].token == APP_TOKEN

        envelope = fake.send_slash_command("/classify", "great stuff", user_id="U2")
        ack = fake.wait_for_ack(envelope, timeout=5)
        assert 0 <= ack.latency < 3
        post = fake.wait_for_call("chat.postMessage", timeout=5)
        assert post.params["text"] == "label for great stuff" and post.params["channel"] == "C1"
        reply = fake.wait_for_call("response_url", timeout=5)
        assert reply.params["text"] == "done"
        assert seen["command"]["user_id"] == "U2"

        first, ts = fake.send_message_event("tag this", channel_id="C1")
        fake.wait_for_ack(first, timeout=5)
        reaction = fake.wait_for(lambda: fake.calls("reactions.add"), timeout=5)[0]
        assert reaction.params.items() >= {"channel": "C1", "timestamp": ts, "name": "eyes"}.items()
        again = fake.redeliver(first)
        redelivered, original = fake.envelope(again), fake.envelope(first)
        assert redelivered["payload"]["event_id"] == original["payload"]["event_id"]
        assert (redelivered["retry_attempt"], redelivered["retry_reason"]) == (1, "timeout")
        fake.wait_for_ack(again, timeout=5)
        fake.wait_for(lambda: len(fake.calls("reactions.add")) == 2, timeout=5)
        assert fake.calls("reactions.add")[1].response["error"] == "already_reacted"
        fake.wait_for(lambda: seen.get("errors"), timeout=5)  # the handler's thread records it
        assert seen["retry_nums"] == ["0", "1"] and seen["errors"] == ["already_reacted"]

        clicked = fake.send_block_action("feedback", "wrong", message_ts=post.response["ts"])
        fake.wait_for_ack(clicked, timeout=5)
        fake.wait_for(lambda: seen.get("action") == "wrong", timeout=5)
        assert {a.envelope_id for a in fake.acks} >= {envelope, first, again, clicked}
    finally:
        _close(handler, fake)


def test_socket_mode_reconnect_goes_to_newest_connection(fake: FakeSlack) -> None:
    seen: dict[str, Any] = {}
    handler = SocketModeHandler(_bolt_app(fake, seen), APP_TOKEN)
    try:
        handler.connect()
        fake.wait_connected(timeout=5)
        fake.send_disconnect()
        fake.wait_connected(timeout=5, min_total=2)
        assert len(fake.calls("apps.connections.open")) == 2
        envelope = fake.send_slash_command("/classify", "after reconnect")
        assert fake.wait_for_ack(envelope, timeout=5).latency < 3
        fake.wait_for(lambda: seen.get("command", {}).get("text") == "after reconnect", 5)
    finally:
        _close(handler, fake)


def _close(handler: SocketModeHandler, fake: FakeSlack) -> None:
    """Close a Socket Mode handler quickly: the builtin client blocks in recv() for up to 3 s
    after close(), unless the server closes the connection first."""
    handler.client.auto_reconnect_enabled = False
    fake.close_connections()
    handler.close()
