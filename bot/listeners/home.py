"""``app_home_opened``: hand the Home tab's publication to a job (events are acked by Bolt)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.handlers.home import publish_home
from bot.jobpool import Busy
from bot.services import services_of


def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Publish the Home tab for the user who opened it (other tabs are ignored)."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    services = services_of(context)
    try:
        services.submit(publish_home, services, client, event["user"], context={"event": "home"})
    except Busy:
        return  # counted and logged by submit; the next app_home_opened publishes it
