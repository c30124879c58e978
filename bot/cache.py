"""The bound every look-up cache shares (users, groups, channels)."""

MAX_ENTRIES = 10_000
"""The bound of each look-up cache (users, groups, channels): a flood cannot grow one further."""
