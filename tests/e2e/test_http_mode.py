"""The real bot process in HTTP mode: Slack's request signatures are checked."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import (
    PNG_SIGNATURE,
    VERSION,
    BotProcess,
    bot_env,
    free_port,
    make_store,
)
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.e2e

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture(scope="module")
def bot(
    fake: FakeSlack, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BotProcess, str]]:
    store = make_store(tiny_model, tmp_path_factory.mktemp("http-store"))
    port = free_port()
    env = bot_env(
        SLACK_API_URL=fake.api_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        HEED_MODEL_DIR=str(store),
    )
    process = BotProcess(env, tmp_path_factory.mktemp("http-bot"), ("--port", str(port)))
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        process.wait_until(healthy, what="listening")
        yield process, f"{base}/slack/events"
    finally:
        assert process.stop() == 0, process.log()[-3000:]


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    """Slack's v0 signature (the algorithm of slack_sdk.signature.SignatureVerifier)."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    url: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> tuple[int, bytes]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature or sign(body, timestamp),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def command_body(fake: FakeSlack, text: str, channel: str = "C1") -> bytes:
    return urllib.parse.urlencode(
        {
            "token": "verification-token",
            "team_id": "T1",
            "team_domain": "heed-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": "U1",
            "user_name": "u1",
            "command": "/classify",
            "text": text,
            "api_app_id": "A1",
            "response_url": f"{fake.base_url}/response/77",
            "trigger_id": "77.T1.trigger",
        }
    ).encode()


def test_signed_command_is_answered(fake: FakeSlack, bot: tuple[BotProcess, str]) -> None:
    _, url = bot
    fake.reset()
    started = time.monotonic()
    status, _ = post(url, command_body(fake, "the sound is wonderful"))
    assert status == 200 and time.monotonic() - started < 3
    reply = fake.wait_for_call("chat.postMessage", timeout=20)
    assert reply.params["channel"] == "C1" and VERSION in reply.params["text"]
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=20)[0]
    assert upload.channel == "C1" and upload.data and upload.data.startswith(PNG_SIGNATURE)


def test_signed_empty_command_gets_help_in_the_response(
    fake: FakeSlack, bot: tuple[BotProcess, str]
) -> None:
    _, url = bot
    fake.reset()
    status, body = post(url, command_body(fake, ""))
    assert status == 200 and "Usage" in json.loads(body)["text"]
    time.sleep(0.3)
    assert not fake.calls("chat.postMessage")


def test_url_verification(bot: tuple[BotProcess, str]) -> None:
    _, url = bot
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()
    status, answer = post(url, body, content_type="application/json")
    assert status == 200 and json.loads(answer)["challenge"] == "abc123"


def test_bad_or_stale_signatures_get_401(fake: FakeSlack, bot: tuple[BotProcess, str]) -> None:
    _, url = bot
    fake.reset()
    body = command_body(fake, "sneaky")
    now = int(time.time())
    assert post(url, body, signature=sign(body, now, secret="not-the-secret"))[0] == 401
    assert post(url, body, signature="v0=" + "0" * 64)[0] == 401
    stale = now - 6 * 60
    assert post(url, body, timestamp=stale, signature=sign(body, stale))[0] == 401
    tampered = body.replace(b"sneaky", b"tampered")
    assert post(url, tampered, signature=sign(body, now), timestamp=now)[0] == 401
    time.sleep(0.3)
    assert not fake.calls("chat.postMessage")


def test_a_replayed_command_is_refused(fake: FakeSlack, bot: tuple[BotProcess, str]) -> None:
    _, url = bot
    fake.reset()
    body, now = command_body(fake, "once only"), int(time.time())
    assert post(url, body, timestamp=now, signature=sign(body, now))[0] == 200
    fake.wait_for_call("chat.postMessage", timeout=20)
    assert post(url, body, timestamp=now, signature=sign(body, now))[0] == 401
    time.sleep(0.5)
    assert len(fake.calls("chat.postMessage")) == 1
