"""The App Home tab, published with ``views.publish`` each time someone opens it."""

from __future__ import annotations

import logging

from bot.agreement import agreement
from bot.blocks.admin import home_view, task_lines
from bot.blocks.agreement import agreement_summary
from bot.handlers.checks import may_administer
from bot.services import Answer, Request, Services
from bot.serving.holder import ModelHolder
from bot.tasks import Task
from classifier.store import ModelStore

log = logging.getLogger(__name__)

HOME_JOBS = 5


def current_home(services: Services, details: bool = False) -> dict:
    """The Home view as of now (a missing heed.json or database just leaves parts out);
    ``details``: failure reasons too, for an admin."""
    tasks = services.settings.tasks
    default = tasks.default
    holder = services.models.holder(default.name)
    metadata = _with_labels(model_metadata(holder.store, holder.version), holder)
    current, jobs, counts, agreed = None, [], None, None
    try:
        current = services.runners[default.name].running()
        jobs = services.db.jobs.recent(HOME_JOBS + 1, default.name)
        counts = services.db.predictions.counts(default.name)
        agreed = agreement_summary(agreement(services.db.predictions.trusted_ratings(default.name)))
    except Exception:
        log.exception("cannot read jobs/feedback for the Home tab")
    others = [t for t in tasks if t.name != default.name]
    return home_view(
        holder.version,
        metadata,
        default.channels,
        current=current,
        jobs=jobs[: HOME_JOBS + (1 if current else 0)],
        counts=counts,
        warning=holder.fallback,
        explain_method=default.explain_method,
        details=details,
        task=default.name if len(tasks) > 1 else None,
        other_tasks=[_other_task(services, t, details) for t in others],
        task_names=[default.name, *(t.name for t in others)],
        agreement=agreed,
    )


def model_metadata(store: ModelStore, version: str | None) -> dict:
    """The heed.json of ``version``; empty when there is none or it cannot be read (not worth
    a broken tab or a failed command)."""
    if not version:
        return {}
    try:
        return store.metadata(version)
    except Exception as exc:
        log.warning("cannot read heed.json of %s: %s", version, exc)
        return {}


def _other_task(services: Services, task: Task, details: bool) -> list[str]:
    """A non-default task's lines: what its store serves (loaded or not), its last job."""
    store = services.models.store(task.name)
    try:
        version = store.current()
        jobs = services.db.jobs.recent(1, task.name)
    except Exception:
        log.exception("cannot read task %s for the Home tab", task.name)
        version, jobs = None, []
    metadata = model_metadata(store, version)
    loaded = services.models.loaded().get(task.name)
    if loaded is not None and loaded.version == version:
        metadata = _with_labels(metadata, loaded)
    last = jobs[0] if jobs else None
    return task_lines(task.name, version, metadata, task.channels, last, details)


def _with_labels(metadata: dict, holder: ModelHolder) -> dict:
    """``metadata`` with the serving model's own labels where its heed.json has none."""
    if metadata.get("labels") or holder.version is None:
        return metadata
    return {**metadata, "labels": list(holder.get().labels)}


def accept_home(request: Request) -> Request | Answer:
    """The ack step: only the Home tab, opened by someone."""
    event = request.body.get("event") or {}
    return request if event.get("tab", "home") == "home" and request.user else Answer()


def publish_home(request: Request) -> None:
    """Publish the Home view (with failure details for an admin), made at most every
    :data:`~bot.services.HOME_TTL` seconds per user: opening the tab again and again costs
    no database reads."""
    services = request.services

    def make() -> dict:
        return current_home(services, details=may_administer(request).allowed)

    view = services.home_views.get_or_make(request.user, make)
    request.client.views_publish(user_id=request.user, view=view)
