"""The App Home tab: the serving model (version, labels, held-out metrics), auto-tagging,
the running retrain job and the last jobs with their outcome, feedback counts, how to use Heed.
Published with ``views.publish`` each time someone opens the tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import home_view
from bot.services import Services

log = logging.getLogger(__name__)

HOME_JOBS = 5


def current_home(services: Services) -> dict:
    """The Home view as of now (a missing heed.json or database just leaves parts out)."""
    version = services.holder.version
    try:
        metadata = services.holder.store.metadata(version) if version else {}
    except Exception:  # a missing heed.json is not worth a broken tab
        metadata = {}
    store, runner = services.feedback, services.retrain
    current = runner.current_job() if runner is not None else None
    jobs, counts = [], None
    if store is not None:
        try:
            jobs, counts = store.recent_jobs(HOME_JOBS + 1), store.feedback_counts()
        except Exception:
            log.exception("cannot read jobs/feedback for the Home tab")
    return home_view(
        version,
        metadata,
        services.settings.autotag_channels,
        current=current,
        jobs=jobs[: HOME_JOBS + (1 if current else 0)],
        counts=counts,
    )


def register(app: App, services: Services) -> None:
    """Publish the Home tab whenever someone opens it."""

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=event["user"], view=current_home(services))
