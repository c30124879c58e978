"""The public face in HTTP mode: every request is hostile until its signature is verified,
so nothing here logs a body or a header value, and refusals are only counted."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.ops.metrics import Metrics, request_kind, respond
from bot.transports.ack import ACK_SENT, RECEIVED_AT
from bot.transports.replay import ReplayGuard

EVENTS_PATH = "/slack/events"
_TIMESTAMP = re.compile(r"\d{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
SERVER_REFUSALS = {411: "length_required", 413: "too_large", 431: "headers_too_large"}


class _SetOnClose:
    """A WSGI body that sets ``event`` once the server has written it (PEP 3333 ``close``)."""

    def __init__(self, body: Iterable[bytes], event: threading.Event) -> None:
        self.body, self.event = body, event

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        self.event.set()


class SlackGuard:
    """The WSGI app of HTTP mode. In order, before Bolt sees anything: route (404/405),
    ``Content-Length`` (411/413, body unread), UTF-8 (400), timestamp and ``v0=`` signature of
    the body as received (401), a signature never seen before (401, with ``replays``), then a
    form or JSON object Bolt can parse (400)."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        metrics: Metrics,
        *,
        max_body: int,
        ops: Callable[..., Iterable[bytes]] | None = None,
        ops_paths: Iterable[str] = (),
        replays: ReplayGuard | None = None,
    ) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body
        self.replays = replays
        self.verifier = SignatureVerifier(signing_secret)
        self.ops, self.ops_paths = ops, frozenset(ops_paths)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        received = time.monotonic()
        wsgi = WsgiHttpRequest(environ)
        if wsgi.path in self.ops_paths and self.ops is not None:
            return self.ops(environ, start_response)
        if wsgi.path != EVENTS_PATH:
            return self._refuse(start_response, HTTPStatus.NOT_FOUND, "not_found")
        if wsgi.method != "POST":
            return self._refuse(start_response, HTTPStatus.METHOD_NOT_ALLOWED, "method")
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isascii() or not length.isdigit():
            return self._refuse(start_response, HTTPStatus.LENGTH_REQUIRED, "length_required")
        if int(length) > self.max_body:
            return self._refuse(start_response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
        try:
            text = wsgi.get_body()
        except UnicodeDecodeError:  # Slack sends UTF-8; the verifier cannot hash anything else
            return self._refuse(start_response, HTTPStatus.BAD_REQUEST, "malformed")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        well_formed = _TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)
        if not well_formed or not self.verifier.is_valid(text, timestamp, signature):
            return self._refuse(start_response, HTTPStatus.UNAUTHORIZED, "bad_signature")
        if self.replays is not None and not self.replays.first_time(signature, int(timestamp)):
            return self._refuse(start_response, HTTPStatus.UNAUTHORIZED, "replayed")
        try:
            request = BoltRequest(
                body=text,
                query=wsgi.query_string,
                headers=wsgi.get_headers(),
                context={ACK_SENT: threading.Event(), RECEIVED_AT: received},
            )
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            request = None
        if request is None or not isinstance(request.body, dict):
            return self._refuse(start_response, HTTPStatus.BAD_REQUEST, "malformed")
        kind = request_kind(request.body)
        answer = self.app.dispatch(request)
        self.metrics.ack_seconds.labels(kind).observe(time.monotonic() - received)
        response = WsgiHttpResponse(answer.status, answer.headers, answer.body)
        start_response(response.status, response.get_headers())
        return _SetOnClose(response.get_body(), request.context[ACK_SENT])

    def refused_by_server(self, code: int) -> None:
        """Count a request the server refused before this guard saw it (411/413/431/400)."""
        self.metrics.rejected.labels(SERVER_REFUSALS.get(code, "malformed")).inc()

    def _refuse(
        self, start_response: Callable[..., Any], status: HTTPStatus, reason: str
    ) -> list[bytes]:
        self.metrics.rejected.labels(reason).inc()
        phrase = f"{status.value} {status.phrase}"
        return respond(start_response, phrase, f"{status.phrase}\n".encode())
