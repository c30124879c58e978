"""The work behind the *Correct Heed's label* message shortcut: show the person who clicked the
label Heed gave that message, with the feedback controls, privately.

The message is one Heed auto-tagged (or a Heed reply); its prediction is found by channel and
``ts``. Only someone who may label it (:class:`bot.labeling.LabelCheck`) gets the controls; a
refusal is said privately and audited like a refused answer. The answer itself then goes
through :func:`bot.handlers.feedback.feedback_job`, stored like a ``/classify`` answer.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.blocks.feedback import (
    LABEL_ACTION,
    NOT_TAGGED,
    correction_prompt,
    not_permitted,
)
from bot.handlers.checks import audited, may_label
from bot.services import Request
from bot.slack_api.errors import NOT_MEMBER_ERRORS, api_error

log = logging.getLogger(__name__)

CORRECT_LABEL = "heed_correct_label"
"""The shortcut's ``callback_id`` (declared in ``slack-manifest.yaml``)."""


def correct_job(request: Request) -> None:
    """Find the shortcut's message's prediction and show its controls to a permitted user."""
    db, client, user, channel = request.services.db, request.client, request.user, request.channel
    message = request.body.get("message") or {}
    prediction = db.predictions.find_by_message(channel, message.get("ts") or "")
    if prediction is None:
        request.private(NOT_TAGGED)
        return
    decision = may_label(request, prediction.asker)
    if not decision.allowed:
        detail = f"prediction {prediction.id}: shortcut; {decision.reason}"
        if audited(request, LABEL_ACTION, False, detail):
            request.private(not_permitted(prediction.asker is not None))
        return
    text, blocks = correction_prompt(prediction, db.predictions.answers_for(prediction.id))
    try:
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=message.get("thread_ts"),
            text=text,
            blocks=blocks,
        )
    except SlackApiError as exc:
        if api_error(exc) not in NOT_MEMBER_ERRORS:
            raise
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)
    log.info("correction controls for prediction %d shown to %s", prediction.id, user)
