"""Alembic revisions of the bot database (see env.py)."""
