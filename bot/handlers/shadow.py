"""``/heed-admin shadow``: start, report and stop a task's shadow version (its report's buttons
are in ``handlers.admin``); and :func:`observe`, which every ``/classify`` and auto-tag calls
once it has answered, so the shadow predicts beside the serving version."""

from __future__ import annotations

import logging
from collections import Counter

from bot.blocks.admin import admin_usage
from bot.blocks.shadow import (
    DISAGREEMENTS_SHOWN,
    SHADOW_USAGE,
    ShadowSummary,
    no_shadow,
    shadow_report,
    shadow_started,
    shadow_stopped,
)
from bot.services import Request
from classifier.store import VERSION_PATTERN, ModelNotFoundError

log = logging.getLogger(__name__)


def observe(request: Request, prediction_id: int | None) -> None:
    """Let the request's task's shadow (if any) predict its text, after the answer went out."""
    request.services.shadows.observe(request.task.name, prediction_id, request.text)


def summarise(request: Request, version: str) -> ShadowSummary:
    """Compare ``version``'s predictions with the serving ones on the messages it saw."""
    services, task = request.services, request.task.name
    pairs = services.db.shadows.pairs(task, version)
    trusted = {row.prediction_id: row.label for row in services.db.predictions.labelled(task)}
    judged = [p for p in pairs if p.prediction_id in trusted]
    differ = [p for p in pairs if p.serving != p.shadow]
    return ShadowSummary(
        task=task,
        version=version,
        serving=services.models.store(task).current(),
        seen=len(pairs),
        agreed=len(pairs) - len(differ),
        flips=Counter((p.serving, p.shadow) for p in differ),
        labelled=len(judged),
        serving_right=sum(trusted[p.prediction_id] == p.serving for p in judged),
        shadow_right=sum(trusted[p.prediction_id] == p.shadow for p in judged),
        disagreements=[(p.text, p.serving, p.shadow) for p in differ[::-1][:DISAGREEMENTS_SHOWN]],
    )


def do_shadow(request: Request) -> None:
    """``shadow VERSION`` starts, ``shadow stop`` stops, ``shadow`` reports (the task is
    already resolved from the arguments)."""
    services, task = request.services, request.task.name
    words = request.text.split()
    if len(words) > 1:
        request.private(admin_usage("shadow takes one version, or stop") + "\n" + SHADOW_USAGE)
        return
    current = services.db.shadows.current(task)
    if not words:
        if current is None:
            request.private(no_shadow(task))
        else:
            request.private(*shadow_report(summarise(request, current.version)))
        return
    if words[0].lower() == "stop":
        if current is None or not services.db.shadows.stop(task):
            request.private(no_shadow(task))
            return
        services.shadows.forget_lookup(task)
        log.info("shadow %s of %s stopped by %s", current.version, task, request.user)
        request.private(shadow_stopped(task, current.version))
        return
    _start(request, words[0])


def _start(request: Request, version: str) -> None:
    services, task = request.services, request.task.name
    if not VERSION_PATTERN.fullmatch(version):
        request.private(admin_usage(f"not a version: {version[:40]!r}") + "\n" + SHADOW_USAGE)
        return
    store = services.models.store(task)
    serving = store.current()
    if version == serving:
        request.private(f":warning: `{version}` already serves task `{task}`: nothing to shadow.")
        return
    try:
        store.path(version)
    except ModelNotFoundError as exc:
        request.private(f":warning: Cannot shadow: {exc}.")
        return
    services.db.shadows.start(task, version, request.user)
    services.shadows.forget_lookup(task)
    log.info("shadow %s of %s started by %s", version, task, request.user)
    request.private(shadow_started(task, version, serving))
