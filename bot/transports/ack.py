"""Bolt-context keys set by each transport; jobs wait for the ack before any work starts."""

ACK_SENT = "heed_ack_sent"
"""A ``threading.Event`` set once the ack has been sent to Slack."""
RECEIVED_AT = "heed_received_at"
"""The ``time.monotonic()`` at which the transport received the request."""
