"""``/heed-admin dry-run #channel [--days N | --messages N] [--heatmaps] [TASK]``: read the
channel's history, classify each message a person wrote, and tell the admin privately what
Heed would have done. Nothing is tagged, posted in the channel or stored; texts live in memory
for the report only and are never logged."""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError

from bot.blocks.admin import admin_usage
from bot.blocks.dry_run import (
    EXAMPLE_LABELS,
    no_model_line,
    progress_line,
    report,
    started_line,
    unreadable_line,
)
from bot.dry_run import Tally, parse_dry_run
from bot.handlers.autotag import is_taggable
from bot.handlers.classify import upload_heatmap
from bot.services import Request
from bot.slack_api.errors import api_error
from bot.slack_api.history import history
from bot.slack_api.text import clean_input, slack_to_plain
from classifier import heatmap
from classifier.model import Classifier
from classifier.types import ExplanationUnavailable

log = logging.getLogger(__name__)

DRY_RUN = "dry-run"
PROGRESS_EVERY = 10.0  # seconds between progress notes
PROGRESS_NOTES = 2  # a response_url takes 5 answers: start, 2 progress notes, the report


def do_dry_run(request: Request) -> None:
    """Classify the channel's history without acting; answer privately with the report."""
    services = request.services
    tasks, limit = services.settings.tasks, services.settings.dry_run_max
    args = parse_dry_run(request.text, tasks.names)
    if args.error is not None:
        request.private(admin_usage(args.error))
        return
    task = tasks.by_name[args.task] if args.task else tasks.default
    try:
        holder = services.models.holder(task.name)
        classifier = holder.get()
    except Exception as exc:
        log.info("dry run: task %s has no model: %s", task.name, exc)
        request.private(no_model_line(task.name))
        return
    most = min(args.messages or limit, limit)
    request.private(started_line(args.channel, task.name, most, args.days))
    oldest = max(0.0, time.time() - args.days * 86400) if args.days else None
    tally, read, notes, last = Tally(task), 0, 0, time.monotonic()
    try:
        for page in history(request.client, args.channel, limit=most, oldest=oldest):
            read += len(page)
            _classify_page(request, classifier, tally, args.channel, page)
            if notes < PROGRESS_NOTES and time.monotonic() - last >= PROGRESS_EVERY:
                request.private(progress_line(read, tally.classified))
                notes, last = notes + 1, time.monotonic()
    except SlackApiError as exc:
        log.info("dry run of %s: cannot read the history: %s", args.channel, api_error(exc))
        request.private(unreadable_line(args.channel, api_error(exc)))
        return
    request.private(*report(tally, args.channel, holder.version or "?", read))
    log.info(
        "dry run of %s with task %s by %s: %d messages read, %d classified",
        args.channel,
        task.name,
        request.user,
        read,
        tally.classified,
    )
    if args.heatmaps:
        _send_heatmaps(request, classifier, tally)


def _classify_page(
    request: Request, classifier: Classifier, tally: Tally, channel: str, page: list[dict]
) -> None:
    """Count one page: the messages auto-tagging would take, classified in one batch."""
    texts, stamps = [], []
    for message in page:
        text = clean_input(slack_to_plain(message.get("text") or ""))
        if not text or not is_taggable({**message, "channel": channel}, request.bot_user):
            tally.skipped += 1
            continue
        texts.append(text)
        stamps.append(str(message["ts"]))
    if texts:
        for prediction, text, ts in zip(classifier.predict(texts), texts, stamps, strict=True):
            tally.add(prediction, text, ts)


def _send_heatmaps(request: Request, classifier: Classifier, tally: Tally) -> None:
    """By DM, the heatmap of each label's most confident example (``--heatmaps``)."""
    services, method = request.services, tally.task.explain_method
    dm = request.client.conversations_open(users=request.user)["channel"]["id"]
    for label, _ in tally.labels.most_common(EXAMPLE_LABELS):
        text = tally.examples(label)[0].text
        try:
            explanation = services.explainer.explain(classifier, text, method)
        except ExplanationUnavailable:
            explanation = classifier.explain(text, "gradient")
        png = heatmap.render(explanation)
        if not upload_heatmap(
            request.client, channel=dm, thread_ts=None, png=png, explanation=explanation
        ):
            services.metrics.upload_failures.inc()
            return
