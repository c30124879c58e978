"""Socket Mode: Bolt's handler on ``websocket-client``, plus a signal that the ack has left the
process. Not slack_sdk's built-in WebSocket client: its frame parser recurses once per frame in
its buffer, and a burst of a few hundred envelopes raised ``RecursionError``, garbled the frames
after it and lost the connection (``benchmarks/replicas_load.py``, 1,000 messages at once)."""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.ops.metrics import Metrics, request_kind
from bot.transports.ack import ACK_SENT, RECEIVED_AT


class AckFirstSocketModeHandler(SocketModeHandler):
    """Bolt's handler, with an ack-sent event in the context (set once the ack is written, so
    no job starts before Slack has it), the arrival time, and ack latency metrics."""

    def __init__(self, app: App, app_token: str, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(app, app_token, **kwargs)
        self.metrics = metrics

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started, received = time.time(), time.monotonic()
        bolt_req = BoltRequest(
            mode="socket_mode",
            body=req.payload,
            headers=build_headers(req),  # Slack's retry headers, as in HTTP mode
            context={ACK_SENT: threading.Event(), RECEIVED_AT: received},
        )
        try:
            send_response(client, req, self.app.dispatch(bolt_req), started)
            self.metrics.ack_seconds.labels(request_kind(req.payload or {})).observe(
                time.monotonic() - received
            )
        finally:
            bolt_req.context[ACK_SENT].set()

    def connected(self) -> tuple[bool, str]:
        """A readiness check: is the Socket Mode WebSocket open?"""
        session = self.client.current_session
        sock = session.sock if session is not None else None
        up = bool(sock is not None and sock.connected)  # a closed socket lingers until replaced
        return up, "" if up else "the Socket Mode connection to Slack is down"
