"""Who may do what, and the audit log every attempt goes to, allowed or refused."""

from __future__ import annotations

import logging

from bot.access import Decision
from bot.blocks.common import AUDIT_FAILED
from bot.database import Prediction
from bot.database.labels import ASKER, AUTHOR
from bot.services import Request
from bot.slack_api.client import usergroup_members, users_info

log = logging.getLogger(__name__)


def may_administer(request: Request) -> Decision:
    """Is the person who sent ``request`` an admin of its task, of this workspace
    (``users.info`` when needed)?"""
    return request.services.admin_for(request.task.name).check(
        request.user,
        lambda u: users_info(request.client, u),
        user_team=request.user_team,
        home_team=request.team,
    )


def may_label(request: Request, asker: str | None, task: str | None = None) -> Decision:
    """May the person who sent ``request`` label a prediction of ``task`` (the request's task
    when None) asked for by ``asker``?"""
    client = request.client
    return request.services.labelers_for(task or request.task.name).check(
        request.user,
        user_team=request.user_team,
        home_team=request.team,
        asker=asker,
        users_info=lambda u: users_info(client, u),
        group_members=lambda g: usergroup_members(client, g),
    )


def may_answer(request: Request, prediction: Prediction) -> Decision:
    """May the person who sent ``request`` answer about ``prediction``: a labeler or admin
    (deciding), or the person it is about, who asked for it or wrote the auto-tagged message
    (suggesting)?"""
    decision = may_label(request, prediction.user, prediction.task)
    if decision.role == ASKER and prediction.asker is None:
        return Decision(True, "wrote this auto-tagged message", AUTHOR)
    return decision


def audited(request: Request, action: str, allowed: bool, detail: str) -> bool:
    """Write one attempt to the audit log; False (the caller then does nothing) when it cannot
    be written, after telling the person so, or when it is refused and the person was refused
    :data:`~bot.ratelimit.REFUSALS_PER_MINUTE` times this minute (neither answered nor
    written: counted in ``heed_busy_refusals_total{reason="refused_too_often"}``)."""
    services = request.services
    if not allowed and services.refusals.wait_for(request.user or "?") > 0:
        services.metrics.busy.labels("refused_too_often").inc()
        return False
    try:
        services.db.audit.record(request.user or None, action, allowed, detail)
    except Exception:
        log.exception("cannot write the audit log; refusing %s by %s", action, request.user)
        request.private(AUDIT_FAILED)
        return False
    return True
