"""An attacker for HTTP mode, on loopback: idle connections held open, unsigned 5 MiB bodies,
malformed requests, and correctly signed ``/classify`` requests timed until their ack.

Used by the abuse test in ``tests/e2e/test_http_face.py`` and ``benchmarks/http_abuse.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

MARKER = "ATTACKER-BODY-MARKER"
"""Text inside every unsigned body: it must never show up in the bot's log."""
BIG_BODY = 5 * 1024 * 1024


def sign(body: bytes, timestamp: int, secret: str) -> str:
    """Slack's v0 signature of ``body``."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def rss_mib(pid: int) -> float:
    """The resident memory of process ``pid`` in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def raw_request(host: str, port: int, data: bytes, timeout: float = 5.0) -> int | None:
    """Send ``data`` as it is and return the response's status code (None: no answer)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before the end
            sock.sendall(data)
        try:
            head = sock.recv(64)
        except OSError:
            return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def malformed_requests(path: str = "/slack/events") -> list[bytes]:
    """Client garbage, each unsigned or badly signed: every one must get a 4xx at once."""
    now = str(int(time.time()))
    deep = b"[" * 200_000 + b"]" * 200_000
    head = f"POST {path} HTTP/1.1\r\nHost: heed\r\n"

    def post(body: bytes, *headers: str, length: str | None = None) -> bytes:
        extra = "".join(f"{h}\r\n" for h in headers)
        size = str(len(body)) if length is None else length
        return (head + extra + f"Content-Length: {size}\r\n\r\n").encode() + body

    return [
        (head + "\r\n").encode(),  # no Content-Length
        post(b"x", length="-1"),
        post(b"", length="100000000000"),
        post(b'{"type": "event_callback", ' + MARKER.encode(), "Content-Type: application/json"),
        post(deep, "Content-Type: application/json"),
        post(b"\xff\xfe" + MARKER.encode(), "X-Slack-Request-Timestamp: " + now),
        post(
            b"text=" + MARKER.encode(), "X-Slack-Request-Timestamp: soon", "X-Slack-Signature: v0=1"
        ),
        post(
            b"text=" + MARKER.encode() + b"\n2026-01-01 INFO forged line",
            "X-Slack-Request-Timestamp: " + now,
            "X-Slack-Signature: v0=\xe9\xe9",
        ),
        b"GARBAGE\r\n\r\n",
    ]


class IdleConnections:
    """Keeps ``count`` connections open that send half a request line and then nothing;
    any the server closes are opened again (as a patient attacker would)."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self.sockets: list[socket.socket] = []
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="idle", daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: heed\r\n")
        sock.setblocking(False)
        return sock

    def start(self) -> IdleConnections:
        """Open them all, then keep them open on a thread."""
        self.sockets = [self._open() for _ in range(self.count)]
        self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stop.wait(0.5):
            for i, sock in enumerate(self.sockets):
                try:
                    closed = sock.recv(1024) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    sock.close()
                    try:
                        self.sockets[i] = self._open()
                        self.reopened += 1
                    except OSError:
                        pass

    def stop(self) -> None:
        """Close every connection."""
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


class Flood:
    """``threads`` threads that send, in turn, an unsigned 5 MiB body and each malformed
    request, until stopped; ``statuses`` counts what came back."""

    def __init__(self, host: str, port: int, threads: int = 3) -> None:
        self.host, self.port = host, port
        self.statuses: Counter[int | None] = Counter()
        self.big_bodies = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"flood-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> Flood:
        """Start the threads."""
        for thread in self._threads:
            thread.start()
        return self

    def _big(self) -> int | None:
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: heed\r\nContent-Length: {BIG_BODY}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        ).encode()
        body = (f"text={MARKER}&" * (BIG_BODY // (len(MARKER) + 6) + 1)).encode()[:BIG_BODY]
        return raw_request(self.host, self.port, head + body)

    def _run(self) -> None:
        requests = malformed_requests()
        while not self._stop.is_set():
            for send in (
                self._big,
                *(lambda r=r: raw_request(self.host, self.port, r) for r in requests),
            ):
                if self._stop.is_set():
                    return
                try:
                    status = send()
                except OSError:
                    status = None
                with self._lock:
                    self.statuses[status] += 1
                    self.big_bodies += send == self._big

    def stop(self) -> None:
        """Stop and join the threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


def command_body(text: str, user: str, response_url: str, channel: str = "C1") -> bytes:
    """A ``/classify`` slash command as Slack posts it."""
    return urllib.parse.urlencode(
        {
            "team_id": "T1",
            "channel_id": channel,
            "user_id": user,
            "command": "/classify",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.T1.trigger",
        }
    ).encode()


def signed_post(host: str, port: int, body: bytes, secret: str) -> tuple[int, float]:
    """POST ``body`` correctly signed; ``(status, seconds until the ack arrived)``."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(body, timestamp, secret),
    }
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


def concurrent_commands(
    host: str, port: int, secret: str, response_url: str, n: int
) -> list[tuple[int, float]]:
    """``n`` signed ``/classify`` requests at once, from ``n`` users; their statuses and ack
    latencies, in order."""
    results: list[tuple[int, float]] = [(0, 0.0)] * n
    start = threading.Barrier(n)

    def one(i: int) -> None:
        body = command_body(f"order {i} arrived broken", f"U{500 + i}", response_url)
        start.wait()
        try:
            results[i] = signed_post(host, port, body, secret)
        except OSError:
            results[i] = (0, float("inf"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def metrics_text(host: str, port: int) -> str:
    """``GET /metrics`` as text."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def readiness(host: str, port: int) -> tuple[int, dict]:
    """``GET /readyz``: the status and its JSON."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
