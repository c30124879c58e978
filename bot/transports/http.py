"""HTTP mode: Bolt behind a small threaded WSGI server (stdlib ``wsgiref``).

Slack sends slash commands, events and interactions to ``POST /slack/events``; Bolt checks
each request's ``X-Slack-Signature`` with ``SLACK_SIGNING_SECRET`` and answers 401 to a bad
or stale (> 5 minutes) one. ``GET /healthz`` answers ``ok`` for load balancers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.services import ACK_SENT

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server that handles each request in its own (daemon) thread."""

    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _SetOnClose:
    """A WSGI body that sets ``event`` once the server has written it (PEP 3333 ``close``)."""

    def __init__(self, body: Iterable[bytes], event: threading.Event) -> None:
        self.body, self.event = body, event

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        self.event.set()


class AckFirstRequestHandler(SlackRequestHandler):
    """Bolt's WSGI adapter; the request context carries an event set once the HTTP response
    (the ack) has been written, so jobs start after Slack has it."""

    def __init__(self, app: App, path: str = EVENTS_PATH) -> None:
        super().__init__(app, path)
        self._local = threading.local()

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        sent = threading.Event()
        self._local.sent = sent
        return self.app.dispatch(
            BoltRequest(
                body=request.get_body(),
                query=request.query_string,
                headers=request.get_headers(),
                context={ACK_SENT: sent},
            )
        )

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        self._local.sent = None
        body = super().__call__(environ, start_response)
        sent = self._local.sent
        return _SetOnClose(body, sent) if sent is not None else body


def wsgi_app(app: App, path: str = EVENTS_PATH) -> Callable[..., Iterable[bytes]]:
    """The WSGI callable: Bolt on ``path``, ``/healthz`` for probes."""
    bolt = AckFirstRequestHandler(app, path=path)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return bolt(environ, start_response)

    return application


def make_http_server(app: App, port: int, host: str = "0.0.0.0") -> ThreadingWSGIServer:
    """Bind the server (call ``serve_forever()`` to run it, ``shutdown()`` to stop it)."""
    server = make_server(
        host, port, wsgi_app(app), server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )
    log.info("HTTP mode: listening on http://%s:%d%s", host, server.server_port, EVENTS_PATH)
    return server  # type: ignore[return-value]
