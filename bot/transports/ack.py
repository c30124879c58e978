"""The signal each transport leaves in a request's Bolt context: when it arrived, and an event
set once the ack is on the wire (jobs wait for it, so no work starts before Slack has its ack).
"""

ACK_SENT = "heed_ack_sent"
"""Request-context key of a ``threading.Event`` set once the ack has been sent to Slack."""
RECEIVED_AT = "heed_received_at"
"""Request-context key of the ``time.monotonic()`` at which the transport received it."""
