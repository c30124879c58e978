"""Labelling: a feedback click (checked, audited, stored, shown above the controls, which stay;
a labeler's or admin's decides and settles any appeal, anyone else's is a suggestion) and the
*Correct Heed's label* shortcut that offers those controls on an auto-tagged message."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.blocks.classify import DM_HEATMAP_NOTE, Reply, classify_reply
from bot.blocks.common import one_line
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    FEEDBACK_UNKNOWN,
    LABEL_ACTION,
    NOT_A_LABEL,
    NOT_SHOWN_HERE,
    NOT_TAGGED,
    QUEUE_SHOWN,
    correction_prompt,
    is_queue_controls,
    not_permitted,
    parse_choice,
    queue_message,
    recorded_line,
    with_feedback_note,
)
from bot.database import Answer, Prediction
from bot.database.labels import TRUSTED
from bot.handlers.appeal import decide_appeals
from bot.handlers.binding import bound_to_message
from bot.handlers.checks import audited, may_answer
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error
from classifier.types import Explanation
from classifier.types import Prediction as ModelPrediction

log = logging.getLogger(__name__)

_LOCKS = [threading.Lock() for _ in range(16)]  # striped: two clicks at once both get noted
CORRECT_LABEL = "heed_correct_label"  # the shortcut's callback_id in slack-manifest.yaml
FEEDBACK_ACTIONS = re.compile(f"^({re.escape(CONFIRM_ACTION)}|{re.escape(CORRECT_ACTION)})$")


def _value(action: dict[str, Any]) -> str:
    return action.get("value") or (action.get("selected_option") or {}).get("value") or ""


def chosen_label(action: dict[str, Any], prediction: Prediction) -> str | None:
    """The label an action picked: the prediction's own for "Correct", else the menu option
    (by name or by index into the prediction's labels); None when it is not a known label."""
    _, token = parse_choice(_value(action))
    labels = list(prediction.scores)
    if action.get("action_id") == CONFIRM_ACTION:
        return prediction.label
    if isinstance(token, int):
        return labels[token] if 0 <= token < len(labels) else None
    return token if token and (not labels or token in labels) else None


def rebuilt_reply(prediction: Prediction, private: bool) -> tuple[str, list[dict]]:
    """The ``/classify`` reply of a stored prediction (for replies Slack does not send back)."""
    scores = prediction.scores or {prediction.label: prediction.confidence or 0.0}
    model = ModelPrediction(
        prediction.label, prediction.confidence or 0.0, scores, prediction.model_version or "?"
    )
    explanation = Explanation(prediction.method or "attention", [], [], model)
    reply = Reply(
        explanation, prediction.text, user_id=prediction.asker, prediction_id=prediction.id
    )
    return classify_reply(reply, DM_HEATMAP_NOTE if private else None)


def _update_reply(
    request: Request,
    prediction: Prediction,
    answers: list[Answer],
    controls: str = FEEDBACK_BLOCK_ID,
    trusted: bool = False,
) -> None:
    services, body, respond = request.services, request.body, request.respond
    assert respond is not None
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel, ts = request.channel, container.get("message_ts") or message.get("ts")
    if message.get("blocks") and not container.get("is_ephemeral") and channel and ts:
        text = message.get("text") or recorded_line(answers[-1])
        new_blocks = with_feedback_note(message["blocks"], answers, controls)
        try:
            request.client.chat_update(channel=channel, ts=ts, text=text, blocks=new_blocks)
        except SlackApiError as exc:
            log.info("chat.update of %s/%s failed (%s): using response_url", channel, ts, exc)
            respond(text=text, blocks=new_blocks, replace_original=True)
        return
    if controls != FEEDBACK_BLOCK_ID and trusted:
        # an answer from the queue's private list: show the queue as it is now, without it
        days = services.settings.queue_days
        items = services.db.queue.top(prediction.task, QUEUE_SHOWN, days, viewer=request.user)
        text, queue_blocks = queue_message(prediction.task, items, note=recorded_line(answers[-1]))
        respond(text=text, blocks=queue_blocks, replace_original=True, response_type="ephemeral")
        return
    text, reply_blocks = rebuilt_reply(prediction, services.settings.private_replies)
    respond(
        text=text,
        blocks=with_feedback_note(reply_blocks, answers),
        replace_original=True,
        response_type="ephemeral",
    )


def feedback_job(request: Request) -> None:
    """Check who answers, audit the attempt, store a permitted answer and show it."""
    store, action, user = request.services.db, request.action, request.user
    who = request.body.get("user") or {}
    name = who.get("username") or who.get("name")
    value = _value(action)
    try:
        prediction = store.predictions.get(parse_choice(value)[0])
    except ValueError:  # not a value Heed made
        prediction = None
    if prediction is None:
        log.info("feedback for an unknown prediction %r from %s", value[:60], user)
        if audited(request, LABEL_ACTION, False, f"unknown prediction {value[:60]!r}"):
            request.private(FEEDBACK_UNKNOWN)
        return
    if not bound_to_message(request.body, action, prediction):
        if audited(request, LABEL_ACTION, False, f"prediction {prediction.id}: not this message's"):
            request.private(NOT_SHOWN_HERE)
        return
    label = chosen_label(action, prediction)
    if label is None:
        if audited(request, LABEL_ACTION, False, f"prediction {prediction.id}: not a label"):
            request.private(NOT_A_LABEL)
        return
    decision = may_answer(request, prediction)
    detail = (
        f"prediction {prediction.id}: {one_line(label, 80)!r}; task {prediction.task}; "
        f"{decision.reason}"
    )
    if not audited(request, LABEL_ACTION, decision.allowed, detail):
        return
    if not decision.allowed or decision.role is None:
        log.info("answer on prediction %d by %s refused: %s", prediction.id, user, decision.reason)
        request.private(not_permitted(prediction.source if prediction.user else None))
        return
    with _LOCKS[prediction.id % len(_LOCKS)]:
        answer = store.predictions.record_answer(
            prediction.id, user, label, role=decision.role, user_name=name
        )
        answers = store.predictions.answers_for(prediction.id)
        block_id = action.get("block_id")
        controls = block_id if is_queue_controls(block_id) else FEEDBACK_BLOCK_ID
        _update_reply(request, prediction, answers, controls, decision.role in TRUSTED)
    if decision.role in TRUSTED:
        decide_appeals(request, prediction, label)
    log.info(
        "feedback on prediction %d: %s by %s as %s (%s%s)",
        prediction.id,
        label,
        user,
        decision.role,
        "correction" if answer.is_correction else "confirmation",
        ", replacing an earlier answer" if answer.replaced else "",
    )


def correct_job(request: Request) -> None:
    """Find the shortcut's message's prediction and show its controls to a permitted user."""
    db, client, user, channel = request.services.db, request.client, request.user, request.channel
    message = request.body.get("message") or {}
    prediction = db.predictions.find_by_message(channel, message.get("ts") or "")
    if prediction is None:
        request.private(NOT_TAGGED)
        return
    decision = may_answer(request, prediction)
    if not decision.allowed:
        detail = f"prediction {prediction.id}: shortcut; {decision.reason}"
        if audited(request, LABEL_ACTION, False, detail):
            request.private(not_permitted(prediction.source if prediction.user else None))
        return
    text, blocks = correction_prompt(prediction, db.predictions.answers_for(prediction.id))
    try:
        client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=message.get("thread_ts"), text=text, blocks=blocks
        )
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)
    log.info("correction controls for prediction %d shown to %s", prediction.id, user)
