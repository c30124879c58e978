"""Bolt listeners: slash commands, auto-tagging of messages, the App Home tab."""
