"""The HTTP guard: limits, signature and parsing are checked, in that order, before Bolt."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
import urllib.parse
from typing import Any

import pytest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.ops.metrics import Metrics
from bot.transports.ack import ACK_SENT, RECEIVED_AT
from bot.transports.guard import SlackGuard
from bot.transports.replay import ReplayGuard

SECRET = "guard-test-secret"


class RecordingApp:
    """Stands in for Bolt: records what it is asked to dispatch."""

    def __init__(self) -> None:
        self.requests: list[BoltRequest] = []

    def dispatch(self, request: BoltRequest) -> BoltResponse:
        self.requests.append(request)
        return BoltResponse(status=200, body="", headers={"content-type": ["text/plain"]})


def sign(body: bytes, timestamp: str) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


class UnreadableInput:
    """A ``wsgi.input`` that fails the test if the guard reads it."""

    def read(self, *_: Any) -> bytes:
        raise AssertionError("the body was read")


def call(
    guard: SlackGuard,
    body: bytes = b"",
    *,
    path: str = "/slack/events",
    method: str = "POST",
    length: str | None = "auto",
    headers: dict[str, str] | None = None,
    signed: bool = True,
    content_type: str = "application/x-www-form-urlencoded",
    readable: bool = True,
) -> tuple[int, bytes]:
    timestamp = str(int(time.time()))
    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": content_type,
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(body) if readable else UnreadableInput(),
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = str(len(body)) if length == "auto" else length
    if signed:
        environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = timestamp
        environ["HTTP_X_SLACK_SIGNATURE"] = sign(body, timestamp)
    environ.update(headers or {})
    status: list[str] = []
    chunks = guard(environ, lambda s, h: status.append(s))
    out = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0]), out


@pytest.fixture
def app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def guard(app: RecordingApp, metrics: Metrics) -> SlackGuard:
    return SlackGuard(app, SECRET, metrics, max_body=1024)  # type: ignore[arg-type]


def command(text: str = "hello") -> bytes:
    return urllib.parse.urlencode({"command": "/classify", "text": text, "user_id": "U1"}).encode()


def rejected(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("heed_http_rejected_total", {"reason": reason}) or 0


def test_a_signed_command_reaches_bolt_with_its_ack_event_and_arrival(
    guard: SlackGuard, app: RecordingApp, metrics: Metrics
) -> None:
    assert call(guard, command())[0] == 200
    [request] = app.requests
    assert request.body["command"] == "/classify" and request.body["text"] == "hello"
    assert request.context[ACK_SENT].is_set()  # set once the response body was closed
    assert isinstance(request.context[RECEIVED_AT], float)
    assert metrics.registry.get_sample_value("heed_ack_seconds_count", {"kind": "classify"}) == 1


@pytest.mark.parametrize(
    "length,status,reason",
    [(None, 411, "length_required"), ("-1", 411, "length_required"),
     ("abc", 411, "length_required"), ("1025", 413, "too_large"),
     ("100000000000", 413, "too_large")],
)  # fmt: skip
def test_lengths_are_refused_without_reading_the_body(
    guard: SlackGuard, app: RecordingApp, metrics: Metrics, length: str | None, status: int,
    reason: str,
) -> None:  # fmt: skip
    assert call(guard, command(), length=length, readable=False)[0] == status
    assert not app.requests and rejected(metrics, reason) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64},
        {"HTTP_X_SLACK_SIGNATURE": "v0=ünïcødé"},
        {"HTTP_X_SLACK_SIGNATURE": ""},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon"},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "-5"},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time()) - 600)},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "9" * 40},
    ],
)
def test_bad_signatures_and_timestamps_are_401(
    guard: SlackGuard, app: RecordingApp, headers: dict[str, str]
) -> None:
    assert call(guard, command(), headers=headers)[0] == 401
    assert not app.requests


def test_unsigned_requests_are_401(guard: SlackGuard, app: RecordingApp) -> None:
    assert call(guard, command(), signed=False)[0] == 401
    assert not app.requests


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"\xff\xfe not utf-8", "application/x-www-form-urlencoded"),
        (b'{"type": "event_callback", ', "application/json"),
        (b"[" * 200_000 + b"]" * 200_000, "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b'["a", "list"]', "application/json"),
    ],
)
def test_signed_garbage_is_400_never_500(
    app: RecordingApp, metrics: Metrics, body: bytes, content_type: str
) -> None:
    guard = SlackGuard(app, SECRET, metrics, max_body=1 << 20)  # type: ignore[arg-type]
    assert call(guard, body, content_type=content_type)[0] == 400
    assert not app.requests and rejected(metrics, "malformed") == 1


def test_other_paths_and_methods(guard: SlackGuard, app: RecordingApp) -> None:
    assert call(guard, command(), path="/admin")[0] == 404
    assert call(guard, b"", method="GET")[0] == 405
    assert not app.requests


def test_ops_paths_are_handed_to_the_ops_app(app: RecordingApp, metrics: Metrics) -> None:
    def ops(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    guard = SlackGuard(
        app,  # type: ignore[arg-type]
        SECRET,
        metrics,
        max_body=1024,
        ops=ops,
        ops_paths=("/healthz",),
    )
    assert call(guard, method="GET", path="/healthz", signed=False) == (200, b"/healthz")
    assert call(guard, method="GET", path="/metrics", signed=False)[0] == 404


def test_a_url_verification_body_parses_as_json(guard: SlackGuard, app: RecordingApp) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    assert call(guard, body, content_type="application/json")[0] == 200
    assert app.requests[0].body["challenge"] == "c"


def test_a_replayed_request_is_refused_and_counted(app: RecordingApp, metrics: Metrics) -> None:
    claimed: set[str] = set()

    def claim(signature: str, timestamp: int) -> bool:  # the database, shared by replicas
        first = signature not in claimed
        claimed.add(signature)
        return first

    replicas = [
        SlackGuard(app, SECRET, metrics, max_body=1024, replays=ReplayGuard(claim))  # type: ignore[arg-type]
        for _ in range(2)
    ]
    stamp = str(int(time.time()))
    headers = {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": sign(command(), stamp),
    }
    assert call(replicas[0], command(), headers=headers)[0] == 200
    assert call(replicas[0], command(), headers=headers)[0] == 401  # the same replica
    assert call(replicas[1], command(), headers=headers)[0] == 401  # another replica
    assert len(app.requests) == 1 and rejected(metrics, "replayed") == 2
    assert call(replicas[1], command("another"))[0] == 200  # a new request is new


def test_when_the_database_fails_repeats_are_still_refused_on_this_replica(
    app: RecordingApp, metrics: Metrics
) -> None:
    def broken(signature: str, timestamp: int) -> bool:
        raise OSError("the database is down")

    guard = SlackGuard(app, SECRET, metrics, max_body=1024, replays=ReplayGuard(broken))  # type: ignore[arg-type]
    stamp = str(int(time.time()))
    headers = {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": sign(command(), stamp),
    }
    assert call(guard, command(), headers=headers)[0] == 200
    assert call(guard, command(), headers=headers)[0] == 401
    assert len(app.requests) == 1
