"""The App Home tab: the serving model (version, labels, held-out metrics), auto-tagging,
the running retrain job and the last jobs with their outcome, feedback counts, how to use Heed.
Published with ``views.publish`` each time someone opens the tab."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.services import Services
from bot.slack_api.lookups import users_info

log = logging.getLogger(__name__)

HOME_JOBS = 5


def current_home(services: Services, details: bool = False) -> dict:
    """The Home view as of now (a missing heed.json or database just leaves parts out);
    ``details``: failure reasons too, for an admin."""
    version = services.holder.version
    try:
        metadata = services.holder.store.metadata(version) if version else {}
    except Exception:  # a missing heed.json is not worth a broken tab
        metadata = {}
    db, runner = services.db, services.retrain
    current, jobs, counts = None, [], None
    try:
        current = runner.running() if runner is not None else None
        if db is not None:
            jobs, counts = db.jobs.recent(HOME_JOBS + 1), db.predictions.counts()
    except Exception:
        log.exception("cannot read jobs/feedback for the Home tab")
    return home_view(
        version,
        metadata,
        services.settings.autotag_channels,
        current=current,
        jobs=jobs[: HOME_JOBS + (1 if current else 0)],
        counts=counts,
        warning=services.holder.fallback,
        explain_method=services.settings.explain_method,
        details=details,
    )


def publish_home(services: Services, client: WebClient, user: str) -> None:
    """Publish the current Home view for ``user`` (with failure details when an admin)."""
    assert services.admin is not None
    admin = services.admin.check(user, lambda u: users_info(client, u)).allowed
    client.views_publish(user_id=user, view=current_home(services, details=admin))
