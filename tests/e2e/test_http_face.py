"""The public HTTP face of the real bot process, tried as an attacker would: limits before
parsing, no traceback, no unsigned body in the log, only ``/healthz`` of the ops endpoints,
and signed requests still acked at once while idle connections, 5 MiB bodies and garbage keep
arriving."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import VERSION, BotProcess, bot_env, free_port, make_store
from tests.support.attack import (
    MARKER,
    Flood,
    IdleConnections,
    command_body,
    concurrent_commands,
    malformed_requests,
    metrics_text,
    raw_request,
    readiness,
    rss_mib,
    signed_post,
)
from tests.support.fakeslack import FakeSlack

pytestmark = pytest.mark.e2e

SECRET = "a1b2c3d4e5f6-http-face-secret"
HOST = "127.0.0.1"
TIMEOUT = 2  # HEED_HTTP_TIMEOUT: seconds of client silence


@pytest.fixture(scope="module")
def bot(
    fake: FakeSlack, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BotProcess, int, int]]:
    store = make_store(tiny_model, tmp_path_factory.mktemp("face-store"))
    port, ops_port = free_port(), free_port()
    workdir = tmp_path_factory.mktemp("face-bot")
    env = bot_env(
        SLACK_API_URL=fake.api_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        HEED_MODEL_DIR=str(store),
        HEED_DATA_DIR=str(workdir / "var"),
        HEED_HTTP_TIMEOUT=str(TIMEOUT),
        HEED_TORCH_THREADS="1",
        HEED_OPS_PORT=str(ops_port),
    )
    process = BotProcess(env, workdir, ("--port", str(port)))
    try:
        process.wait_until(lambda: _status(port, "/healthz") == 200, what="listening")
        yield process, port, ops_port
    finally:
        assert process.stop() == 0, process.log()[-3000:]
    log = process.log()
    assert "Traceback" not in log, log[-3000:]
    assert MARKER not in log  # no unauthenticated body was ever logged


def _status(port: int, path: str) -> int | None:
    try:
        return raw_request(HOST, port, f"GET {path} HTTP/1.1\r\nHost: heed\r\n\r\n".encode())
    except OSError:
        return None


def test_each_attack_gets_its_4xx_at_once(bot: tuple[BotProcess, int, int]) -> None:
    _, port, _ = bot
    expected = [411, 411, 413, 401, 401, 400, 401, 401, 400]
    for request, status in zip(malformed_requests(), expected, strict=True):
        started = time.monotonic()
        assert raw_request(HOST, port, request) == status, request[:80]
        assert time.monotonic() - started < 2


def test_an_oversized_body_is_refused_before_it_is_sent(bot: tuple[BotProcess, int, int]) -> None:
    _, port, _ = bot
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: heed\r\nContent-Length: 5242880\r\n\r\n"
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 413")  # not one byte of the body was sent


def test_a_silent_client_is_disconnected(bot: tuple[BotProcess, int, int]) -> None:
    _, port, _ = bot
    with socket.create_connection((HOST, port), timeout=TIMEOUT * 6) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: heed\r\nContent-Length: 10\r\n\r\n")
        started = time.monotonic()
        assert sock.recv(64) == b""  # closed by the server, with no answer
        assert TIMEOUT * 0.5 <= time.monotonic() - started <= TIMEOUT * 5


def test_a_trickling_client_is_cut_off_at_the_deadline(bot: tuple[BotProcess, int, int]) -> None:
    _, port, _ = bot
    request = b"POST /slack/events HTTP/1.1\r\nHost: heed\r\nX-Padding: " + b"a" * 200
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=5) as sock:
        closed = False
        for byte in request:  # one byte every 0.4 s: never silent for HEED_HTTP_TIMEOUT
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.4)
            except OSError:
                closed = True
                break
            if time.monotonic() - started > TIMEOUT * 3 + 6:
                break
        if not closed:
            sock.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                closed = sock.recv(64) == b""
    assert closed and time.monotonic() - started < TIMEOUT * 3 + 6


def test_the_public_port_serves_only_healthz_of_the_ops_endpoints(
    bot: tuple[BotProcess, int, int],
) -> None:
    _, port, ops_port = bot
    assert [_status(port, path) for path in ("/healthz", "/readyz", "/metrics")] == [200, 404, 404]
    assert _status(ops_port, "/metrics") == 200  # HEED_OPS_PUBLIC=true would serve it on both


def test_readyz_and_metrics(fake: FakeSlack, bot: tuple[BotProcess, int, int]) -> None:
    _, port, ops_port = bot
    status, answer = readiness(HOST, ops_port)
    assert status == 200 and answer == {
        "ready": True,
        "checks": {"model": "ok", "database": "ok", "autotag_queue": "ok", "slack": "ok"},
    }
    fake.reset()
    body = command_body("the box arrived", "U42", f"{fake.base_url}/response/1")
    assert signed_post(HOST, port, body, SECRET)[0] == 200
    fake.wait_for_call("chat.postMessage", timeout=20)
    fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=20)

    # the reply's time is observed once Slack's answer to the upload is back in the bot
    def with_reply_time() -> str:
        text = metrics_text(HOST, ops_port)
        return text if "heed_reply_seconds_count" in text else ""

    text = fake.wait_for(with_reply_time, timeout=10, what="the reply's time in /metrics")
    assert 'heed_requests_total{kind="classify"}' in text
    assert f'heed_model_info{{version="{VERSION}"}} 1.0' in text
    assert 'heed_http_rejected_total{reason="too_large"}' in text
    assert "heed_ack_seconds_bucket" in text and "heed_reply_seconds_count" in text
    assert 'heed_predictions_total{label="' in text


def test_signed_requests_are_acked_under_attack(
    fake: FakeSlack, bot: tuple[BotProcess, int, int]
) -> None:
    """The abuse test (bounded): 300 idle connections held open and a flood of unsigned 5 MiB
    bodies and malformed requests; 20 signed /classify from 20 people all acked within 3 s."""
    process, port, _ = bot
    fake.reset()
    before = rss_mib(process.proc.pid)
    idle = IdleConnections(HOST, port, 300).start()
    flood = Flood(HOST, port, threads=3).start()
    try:
        time.sleep(1.0)
        results = concurrent_commands(HOST, port, SECRET, f"{fake.base_url}/response/2", 20)
        time.sleep(0.5)
    finally:
        flood.stop()
        idle.stop()
    after = rss_mib(process.proc.pid)
    assert [status for status, _ in results] == [200] * 20
    assert max(latency for _, latency in results) < 3, [round(t, 2) for _, t in results]
    assert flood.big_bodies > 0 and set(flood.statuses) <= {400, 401, 411, 413, None}
    assert flood.statuses[413] > 0 and flood.statuses[401] > 0
    assert after - before < 150, (before, after)
    fake.wait_for(lambda: len(fake.calls("chat.postMessage")) >= 20, timeout=60, what="replies")


def test_the_bot_still_answers_after_the_attack(
    fake: FakeSlack, bot: tuple[BotProcess, int, int]
) -> None:
    _, port, _ = bot
    fake.reset()
    body = command_body("still there?", "U43", f"{fake.base_url}/response/3")
    status, latency = signed_post(HOST, port, body, SECRET)
    assert status == 200 and latency < 3
    fake.wait_for_call("chat.postMessage", timeout=20)
