"""Socket Mode: Bolt's built-in handler, plus a signal that the ack has left the process.

:class:`AckFirstSocketModeHandler` dispatches like Bolt's own handler and sets the
``threading.Event`` stored under :data:`bot.transports.ack.ACK_SENT` in the request context
once the acknowledgement was written to the WebSocket. Jobs wait for it, so inference never starts
before Slack has its ack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import send_response
from slack_bolt.request import BoltRequest
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.ops.metrics import Metrics, request_kind
from bot.transports.ack import ACK_SENT, RECEIVED_AT


def retry_headers(req: SocketModeRequest) -> dict[str, str | Sequence[str]] | None:
    """Slack's HTTP retry headers for a Socket Mode envelope (as Bolt's adapter builds them)."""
    headers: dict[str, str | Sequence[str]] = {}
    if req.retry_attempt is not None:
        headers["x-slack-retry-num"] = str(req.retry_attempt)
    if req.retry_reason is not None:
        headers["x-slack-retry-reason"] = req.retry_reason
    return headers or None


class AckFirstSocketModeHandler(SocketModeHandler):
    """The builtin Socket Mode handler; the request context carries an ack-sent event and the
    arrival time, and each ack's latency goes to ``heed_ack_seconds``."""

    def __init__(self, app: App, app_token: str, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(app, app_token, **kwargs)
        self.metrics = metrics

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started, received = time.time(), time.monotonic()
        sent = threading.Event()
        bolt_req = BoltRequest(
            mode="socket_mode",
            body=req.payload,
            headers=retry_headers(req),
            context={ACK_SENT: sent, RECEIVED_AT: received},
        )
        try:
            send_response(client, req, self.app.dispatch(bolt_req), started)
            self.metrics.ack_seconds.labels(request_kind(req.payload or {})).observe(
                time.monotonic() - received
            )
        finally:
            sent.set()

    def connected(self) -> tuple[bool, str]:
        """A readiness check: is the Socket Mode WebSocket open?"""
        if self.client.is_connected():
            return True, ""
        return False, "the Socket Mode connection to Slack is down"
