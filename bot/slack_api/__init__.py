"""Talking to the Slack Web API: the client, its errors, uploads, Slack text."""
