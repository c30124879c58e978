"""Forgetting: ``/heed-admin forget @user`` and a deleted auto-tagged message. The rows go (with a
tombstone per text for every replica's exports), Heed's own posts quoting the texts are deleted
and the database's files are scrubbed of them."""

from __future__ import annotations

import logging
import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.admin import admin_usage, forgotten_line
from bot.database.connection import failure_line
from bot.database.forgetting import Forgotten
from bot.retention import exports_dir, forget_in_exports
from bot.services import Answer, Request
from bot.slack_api.errors import api_error

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]+)")
DELETED = "message_deleted"


def mentioned_ids(text: str) -> str:
    """``text`` with each ``<@U…|handle>`` as the bare ``U…`` (the audit log keeps IDs only)."""
    return re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", r"\1", text)


def do_forget(request: Request) -> None:
    """Delete everything of a person's: the texts they asked about or wrote and their answers,
    in the database, the kept exports (every replica's) and Heed's posts quoting them."""
    match = MENTION.fullmatch(request.text.strip())
    if match is None:
        request.private(admin_usage("forget needs one person: `/heed-admin forget @user`"))
        return
    user = match.group(1) or match.group(2)
    gone = request.services.db.forgetting.forget_person(user)
    lines = finish(request, gone)
    log.info(
        "forgot %s for %s: %d predictions, %d answers, %d export lines, %d posts",
        user,
        request.user,
        gone.predictions,
        gone.answers,
        lines,
        len(gone.posts),
    )
    request.private(forgotten_line(user, gone.predictions, gone.answers, lines))


def accept_deleted(request: Request) -> Request | Answer:
    """The ack step of a ``message_deleted`` event: handed on when it names the message."""
    event = request.body.get("event") or {}
    return request if event.get("deleted_ts") and request.channel else Answer()


def message_deleted_job(request: Request) -> None:
    """Its author deleted a message: forget what Heed stored of it (an auto-tag's text)."""
    deleted_ts = str((request.body.get("event") or {})["deleted_ts"])
    gone = request.services.db.forgetting.forget_message(request.channel, deleted_ts)
    if gone.predictions:
        finish(request, gone)
        log.info("forgot the deleted message %s/%s", request.channel, deleted_ts)


def finish(request: Request, gone: Forgotten) -> int:
    """After the rows went: this replica's exports lose the texts now (the others' at their
    reaper's next round, from the tombstones), Heed's posts quoting them are deleted, and the
    database's files are scrubbed; how many export lines went."""
    services = request.services
    lines = forget_in_exports(exports_dir(services.settings), gone.texts)
    delete_posts(request.client, gone.posts)
    try:
        services.db.scrub()
    except Exception as exc:
        log.error("cannot scrub the database after a forget: %s", failure_line(exc))
    return lines


def delete_posts(client: WebClient, posts: frozenset[tuple[str, str]]) -> int:
    """``chat.delete`` each of Heed's posts (an ephemeral or already deleted one is skipped);
    how many went."""
    deleted = 0
    for channel, ts in sorted(posts):
        try:
            client.chat_delete(channel=channel, ts=ts)
            deleted += 1
        except SlackApiError as exc:
            log.info("cannot delete Heed's post %s/%s: %s", channel, ts, api_error(exc))
    return deleted
