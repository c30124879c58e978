"""Slack wording, one module per surface: pure functions to ``(text, blocks)``."""
