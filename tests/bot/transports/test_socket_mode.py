"""Socket Mode: a burst of envelopes sent at once is acked whole on one connection, and
readiness follows the WebSocket itself."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.ops.metrics import Metrics
from bot.transports.socket_mode import AckFirstSocketModeHandler
from tests.support.fakeslack import FakeSlack

BURST = 600


def _handler(fake: FakeSlack) -> AckFirstSocketModeHandler:
    app = App(
        client=WebClient(base_url=fake.api_url, token="xoxb-test", timeout=5),
        signing_secret="unused-in-socket-mode",
    )

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        """Acked by Bolt; nothing to do."""

    return AckFirstSocketModeHandler(app, "xapp-test", Metrics())


def test_a_burst_of_envelopes_is_acked_whole_on_one_connection(fake: FakeSlack) -> None:
    handler = _handler(fake)
    try:
        handler.connect()
        fake.wait_connected(timeout=5)
        # slack_sdk's session monitor may replace a session whose socket is not open yet, so
        # the server can see a connection a moment before the handler's current one is up.
        fake.wait_for(lambda: handler.connected()[0], timeout=10, what="connected")
        assert handler.connected() == (True, "")
        opened = len(fake.calls("apps.connections.open"))
        sent = [fake.send_message_event(f"message {i}")[0] for i in range(BURST)]
        fake.wait_for(lambda: len(fake.acks) >= BURST, timeout=60, what="every ack")
        assert {a.envelope_id for a in fake.acks} == set(sent)
        assert len(fake.calls("apps.connections.open")) == opened  # never lost the connection
        fake.refuse_connections(30.0)
        fake.close_connections()
        fake.wait_for(lambda: not handler.connected()[0], timeout=5, what="not connected")
        assert handler.connected() == (False, "the Socket Mode connection to Slack is down")
    finally:
        handler.client.auto_reconnect_enabled = False
        handler.close()
