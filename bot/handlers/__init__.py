"""One module per Slack surface: its ack step (parse, decide) and its job (after the ack)."""
