"""Heed's Slack surface: settings, the Bolt app, listeners, Block Kit and model serving."""
