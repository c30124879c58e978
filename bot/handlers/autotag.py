"""The work behind an auto-tagged message: the label's reaction, and for notify labels above
the threshold a thread note (with the heatmap caveat) and the heatmap."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.classify import autotag_blocks
from bot.services import Services
from bot.slack_api.errors import api_error
from bot.slack_api.uploads import upload_heatmap
from classifier import heatmap
from classifier.types import ExplanationUnavailable, Prediction

log = logging.getLogger(__name__)


def tag_job(
    services: Services,
    client: WebClient,
    event: dict[str, Any],
    text: str,
    future: Future[Prediction],
) -> None:
    """React with the label's emoji; above the threshold, for notify labels, add a thread note
    and the heatmap."""
    prediction = future.result()
    channel, ts = event["channel"], event["ts"]
    settings = services.settings
    emoji = settings.emoji_for(prediction.label)
    if emoji is None:
        log.info("no emoji for label %r (set HEED_LABEL_EMOJI); not reacting", prediction.label)
    else:
        try:
            client.reactions_add(channel=channel, timestamp=ts, name=emoji)
        except SlackApiError as exc:
            if api_error(exc) != "already_reacted":
                log.warning("cannot add :%s: to %s/%s: %s", emoji, channel, ts, api_error(exc))
    if not settings.should_notify(prediction.label, prediction.confidence):
        return
    classifier = services.holder.get()
    try:
        explanation = services.explainer.explain(classifier, text, settings.explain_method)
    except ExplanationUnavailable as exc:  # nobody asked for this method: use one that works
        log.warning("%s; the auto-tag note is explained with gradient", exc)
        explanation = classifier.explain(text, "gradient")
    png = heatmap.render(explanation)
    thread_ts = event.get("thread_ts") or ts
    note, note_blocks = autotag_blocks(prediction)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note, blocks=note_blocks)
    upload_heatmap(client, channel=channel, thread_ts=thread_ts, png=png, explanation=explanation)
