"""Appeals: the author of an auto-tagged message disputes its label (the thread note's button
or the *Appeal Heed's label* shortcut open a modal for an optional reason); the appeal waits
first in the labelling queue; a labeler's or admin's answer decides and the author is told
privately. Every step goes to the audit log; appeals are limited per author per day."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.blocks.appeal import (
    ALREADY_APPEALED,
    APPEAL_AUDIT,
    DECISION_AUDIT,
    NOT_YOURS,
    NOTICE_AUDIT,
    REASON_BLOCK,
    REASON_INPUT,
    appeal_modal,
    decision_line,
    filed_line,
    rate_limited,
)
from bot.blocks.common import one_line
from bot.blocks.feedback import NOT_TAGGED
from bot.database import Prediction
from bot.handlers.checks import audited
from bot.services import Request
from bot.slack_api.errors import api_error

log = logging.getLogger(__name__)

APPEAL_LABEL = "heed_appeal_label"  # the shortcut's callback_id in slack-manifest.yaml
RATE_WINDOW = timedelta(days=1)


def refusal(request: Request, prediction: Prediction) -> str | None:
    """Why the sender may not appeal ``prediction`` now (None: they may)."""
    services = request.services
    if not request.team or request.user_team != request.team:
        return NOT_YOURS
    if prediction.source != "autotag" or prediction.user != request.user:
        return NOT_YOURS
    if services.db.appeals.open_for(prediction.id) is not None:
        return ALREADY_APPEALED
    limit = services.settings.appeals_per_day
    if services.db.appeals.filed_since(request.user, RATE_WINDOW) >= limit:
        return rate_limited(limit)
    return None


def _tell(request: Request, user: str, text: str) -> bool:
    """DM ``user``; False (logged) when Slack refuses."""
    try:
        request.client.chat_postMessage(channel=user, text=text, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("cannot DM %s about an appeal: %s", user, api_error(exc))
        return False
    return True


def _prediction(request: Request, value: str) -> Prediction | None:
    """The prediction whose id ``value`` (a button's, a modal's metadata) names, if any."""
    known = value.isascii() and value.isdigit() and len(value) <= 18  # a 64-bit id at most
    return request.services.db.predictions.get(int(value)) if known else None


def _target(request: Request) -> Prediction | None:
    """The prediction the button (its value) or the shortcut (its message) is about."""
    db, value = request.services.db, str(request.action.get("value") or "")
    if value:
        return _prediction(request, value)
    message = request.body.get("message") or {}
    return db.predictions.find_by_message(request.channel, message.get("ts") or "")


def open_appeal_job(request: Request) -> None:
    """The button or the shortcut: to the message's author, the reason modal; to anyone
    else (or past the limit), a private refusal, audited."""
    prediction = _target(request)
    if prediction is None:
        request.private(NOT_TAGGED)
        return
    why = refusal(request, prediction)
    if why is not None:
        detail = f"prediction {prediction.id}: refused before the form; {one_line(why, 120)}"
        if audited(request, APPEAL_AUDIT, False, detail):
            request.private(why)
        return
    trigger = request.body.get("trigger_id")
    request.client.views_open(trigger_id=trigger, view=appeal_modal(prediction))


def _reason(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}).get("value") or "")


def submit_appeal_job(request: Request) -> None:
    """The modal submitted: check again, file the appeal (first in the queue), audit it and
    tell the author privately."""
    db, view = request.services.db, request.body.get("view") or {}
    metadata = str(view.get("private_metadata") or "")
    prediction = _prediction(request, metadata)
    if prediction is None:
        if audited(request, APPEAL_AUDIT, False, f"unknown prediction {metadata[:40]!r}"):
            _tell(request, request.user, NOT_TAGGED)
        return
    why = refusal(request, prediction)
    reason = _reason(view)
    detail = f"prediction {prediction.id}; task {prediction.task}; reason {one_line(reason, 200)!r}"
    if why is not None:
        if audited(request, APPEAL_AUDIT, False, f"{detail}; {one_line(why, 120)}"):
            _tell(request, request.user, why)
        return
    if not audited(request, APPEAL_AUDIT, True, detail):
        return
    appeal = db.appeals.file(prediction.id, request.user, reason)
    log.info("appeal %d of prediction %d filed by %s", appeal.id, prediction.id, request.user)
    _tell(request, request.user, filed_line(prediction))


def decide_appeals(request: Request, prediction: Prediction, label: str) -> None:
    """After a trusted answer: close the open appeals of ``prediction`` (upheld when ``label``
    is Heed's), audit each decision and tell each author privately (audited too)."""
    db = request.services.db
    for appeal in db.appeals.decide(prediction.id, request.user, label, prediction.label):
        detail = (
            f"appeal {appeal.id} of prediction {prediction.id} by {appeal.author}: "
            f"{appeal.status} ({one_line(label, 80)!r})"
        )
        db.audit.record(request.user or None, DECISION_AUDIT, True, detail)
        sent = _tell(request, appeal.author, decision_line(appeal, prediction))
        db.audit.record(appeal.author, NOTICE_AUDIT, sent, f"appeal {appeal.id}: {appeal.status}")
        log.info("appeal %d %s by %s", appeal.id, appeal.status, request.user)
