"""Is a feedback click bound to its message? A click names its prediction in the control's
value, and a doctored client can send any value: it must be one the clicked message showed.

Slack sends a channel message's blocks as stored, so the value must be in that message, on
that control. An ephemeral message comes with no blocks: its controls must be the reply's
(or the correction prompt's) in the prediction's own channel or clicked by its asker (a
private reply is shown to the asker only), or a labelling-queue item's controls, whose block
names the same prediction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bot.blocks.feedback import FEEDBACK_BLOCK_ID, controls_id
from bot.database import Prediction


def _value(action: Mapping[str, Any]) -> str | None:
    option = action.get("selected_option")
    return option.get("value") if isinstance(option, dict) else action.get("value")


def _offered(element: Mapping[str, Any]) -> Iterator[str | None]:
    """The values a control offers: a button's, or each option of a menu."""
    yield element.get("value")
    groups = [{"options": element.get("options") or []}, *(element.get("option_groups") or [])]
    for group in groups:
        for option in group.get("options") or []:
            yield option.get("value") if isinstance(option, dict) else None


def shown_in(blocks: Any, action: Mapping[str, Any]) -> bool:
    """Did ``blocks`` show the control ``action`` used, offering the value it sent?"""
    value = _value(action)
    if not isinstance(blocks, list) or not value:
        return False
    controls = [
        element
        for block in blocks
        if isinstance(block, dict) and block.get("block_id") == action.get("block_id")
        for element in block.get("elements") or []
        if isinstance(element, dict) and element.get("action_id") == action.get("action_id")
    ]
    return any(value in _offered(element) for element in controls)


def bound_to_message(
    body: Mapping[str, Any], action: Mapping[str, Any], prediction: Prediction
) -> bool:
    """Was ``action`` (naming ``prediction``) a control of the message it was clicked in?"""
    container = body.get("container") or {}
    message = body.get("message")
    if not container.get("is_ephemeral"):
        return isinstance(message, dict) and shown_in(message.get("blocks"), action)
    block = action.get("block_id")
    if block == controls_id(prediction.id):
        return True
    user = body.get("user") or {}
    clicked_by = user.get("id") if isinstance(user, dict) else None
    mine = prediction.asker is not None and prediction.asker == clicked_by
    here = prediction.channel == container.get("channel_id")
    return block == FEEDBACK_BLOCK_ID and (here or mine)
