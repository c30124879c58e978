"""The Bolt-context keys each transport sets: when the request arrived, and an event set once
the ack is on the wire (jobs wait for it, so no work starts before Slack has its ack)."""

ACK_SENT = "heed_ack_sent"
"""A ``threading.Event`` set once the ack has been sent to Slack."""
RECEIVED_AT = "heed_received_at"
"""The ``time.monotonic()`` at which the transport received the request."""
