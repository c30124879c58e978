"""The work behind a feedback click: store the answer, show it on the reply.

The listener has acked; this job stores the answer (:meth:`Predictions.record_answer`,
one answer per user and prediction, a changed answer replaces the earlier one) and updates the
reply so everyone sees it was recorded, and by whom: a note listing the answers goes just above
the controls, which stay, so other moderators can confirm or disagree. A channel reply is
updated with ``chat.update`` (its blocks come with the click); an ephemeral reply (private
replies) is rebuilt from the stored prediction and replaced through its ``response_url``.

Answers for the same prediction are serialised (a small striped lock), so two clicks at once
cannot leave a note that misses one of them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import DM_HEATMAP_NOTE, classify_reply
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    FEEDBACK_UNKNOWN,
    NOT_A_LABEL,
    feedback_elements,
    parse_choice,
    recorded_line,
    with_feedback_note,
)
from bot.database import Answer, Prediction
from bot.services import Services
from classifier.types import Explanation
from classifier.types import Prediction as ModelPrediction

log = logging.getLogger(__name__)

_LOCKS = [threading.Lock() for _ in range(16)]


def chosen_label(action: dict[str, Any], prediction: Prediction) -> str | None:
    """The label an action picked: the prediction's own for "Correct", else the menu option
    (by name or by index into the prediction's labels); None when it is not a known label."""
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    _, token = parse_choice(value)
    labels = list(prediction.scores)
    if action.get("action_id") == CONFIRM_ACTION:
        return prediction.label
    if isinstance(token, int):
        return labels[token] if 0 <= token < len(labels) else None
    if not token or (labels and token not in labels):
        return None
    return token


def rebuilt_reply(prediction: Prediction, private: bool) -> tuple[str, list[dict]]:
    """The ``/classify`` reply of a stored prediction (for replies Slack does not send back)."""
    scores = prediction.scores or {prediction.label: prediction.confidence or 0.0}
    model = ModelPrediction(
        prediction.label, prediction.confidence or 0.0, scores, prediction.model_version or "?"
    )
    explanation = Explanation(prediction.method or "attention", [], [], model)
    return classify_reply(
        explanation,
        text=prediction.text,
        user_id=prediction.user,
        note=DM_HEATMAP_NOTE if private else None,
        feedback=feedback_elements(prediction.id, prediction.label, list(scores)),
    )


def _update_reply(
    services: Services,
    client: WebClient,
    respond: Respond,
    body: dict[str, Any],
    prediction: Prediction,
    answers: list[Answer],
) -> None:
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or message.get("ts")
    if message.get("blocks") and not container.get("is_ephemeral") and channel and ts:
        text = message.get("text") or recorded_line(answers[-1])
        new_blocks = with_feedback_note(message["blocks"], answers)
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=new_blocks)
            return
        except SlackApiError as exc:
            log.info("chat.update of %s/%s failed (%s): using response_url", channel, ts, exc)
            respond(text=text, blocks=new_blocks, replace_original=True)
            return
    text, reply_blocks = rebuilt_reply(prediction, services.settings.private_replies)
    respond(
        text=text,
        blocks=with_feedback_note(reply_blocks, answers),
        replace_original=True,
        response_type="ephemeral",
    )


def feedback_job(
    services: Services,
    client: WebClient,
    respond: Respond,
    body: dict[str, Any],
    action: dict[str, Any],
) -> None:
    """Store one answer and show it on the reply."""
    store = services.db
    user = (body.get("user") or {}).get("id") or ""
    name = (body.get("user") or {}).get("username") or (body.get("user") or {}).get("name")
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        prediction_id, _ = parse_choice(value)
    except ValueError:
        prediction_id = None
    prediction = (
        store.predictions.get(prediction_id) if store and prediction_id is not None else None
    )
    if prediction is None:
        log.info("feedback for an unknown prediction %r from %s", value[:60], user)
        respond(text=FEEDBACK_UNKNOWN, response_type="ephemeral", replace_original=False)
        return
    assert store is not None
    label = chosen_label(action, prediction)
    if label is None:
        respond(text=NOT_A_LABEL, response_type="ephemeral", replace_original=False)
        return
    with _LOCKS[prediction.id % len(_LOCKS)]:
        answer = store.predictions.record_answer(prediction.id, user, label, user_name=name)
        answers = store.predictions.answers_for(prediction.id)
        _update_reply(services, client, respond, body, prediction, answers)
    log.info(
        "feedback on prediction %d: %s by %s (%s%s)",
        prediction.id,
        label,
        user,
        "correction" if answer.is_correction else "confirmation",
        ", replacing an earlier answer" if answer.replaced else "",
    )
