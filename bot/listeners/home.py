"""The App Home tab: which model is serving, its labels and held-out metrics, how to use Heed."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import USAGE, percent
from bot.services import Services

log = logging.getLogger(__name__)


def home_view(version: str | None, metadata: dict[str, Any], autotag: tuple[str, ...]) -> dict:
    """The ``home`` view for :meth:`WebClient.views_publish`."""
    metrics = metadata.get("metrics") or {}
    lines = [f"*Model:* `{version or 'none'}`"]
    if metadata.get("labels"):
        lines.append("*Labels:* " + ", ".join(f"`{label}`" for label in metadata["labels"]))
    if "accuracy" in metrics and "macro_f1" in metrics:
        lines.append(
            f"*Held-out eval:* accuracy {percent(metrics['accuracy'])}, "
            f"macro-F1 {percent(metrics['macro_f1'])}"
        )
    where = ", ".join(c if c.startswith("#") else f"<#{c}>" for c in autotag) or "no channels"
    lines.append(f"*Auto-tagging:* {where}")
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Heed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": USAGE}},
        ],
    }


def register(app: App, services: Services) -> None:
    """Publish the Home tab whenever someone opens it."""

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        version = services.holder.version
        try:
            metadata = services.holder.store.metadata(version) if version else {}
        except Exception:  # a missing heed.json is not worth a broken tab
            metadata = {}
        view = home_view(version, metadata, services.settings.autotag_channels)
        client.views_publish(user_id=event["user"], view=view)
