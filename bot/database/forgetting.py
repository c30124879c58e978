"""Forgetting texts: a person's (asked, written or answered) or a deleted message's, with the
answers about them, the list of Heed's own posts that quote them and a tombstone per text."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select

from bot.database.records import Repository, now
from bot.database.schema import feedback, forgotten_texts, heed_posts, pending_tags, predictions


def text_sha256(text: str) -> str:
    """The tombstone of ``text``: the SHA-256 of its exact UTF-8 bytes (never the text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Forgotten:
    """What a forget deleted, and Heed's own Slack messages that quoted it (to ``chat.delete``)."""

    predictions: int
    answers: int  # given by the forgotten person (forget_person), or about the texts
    texts: frozenset[str]
    posts: frozenset[tuple[str, str]] = frozenset()


class Forgetting(Repository):
    """Deletes texts for good (tombstoned for every replica's exports); ``heed_posts``."""

    def forget_person(self, user: str) -> Forgotten:
        """Delete the predictions of texts ``user`` asked about or wrote (with every answer
        about them) and ``user``'s answers about anyone's."""
        with self._db.write() as conn:
            answers = conn.execute(delete(feedback).where(feedback.c.user == user)).rowcount
            gone = _forget(conn, or_(predictions.c.user == user, predictions.c.author == user))
            conn.execute(delete(pending_tags).where(pending_tags.c.user == user))  # not yet tagged
        return Forgotten(gone.predictions, answers, gone.texts, gone.posts)

    def forget_message(self, channel: str, message_ts: str) -> Forgotten:
        """Delete what Heed stored of a message its author deleted (its auto-tag predictions)."""
        where = (
            (predictions.c.channel == channel)
            & (predictions.c.message_ts == message_ts)
            & (predictions.c.source == "autotag")
        )
        with self._db.write() as conn:
            waiting = (pending_tags.c.channel == channel) & (
                pending_tags.c.message_ts == message_ts
            )
            conn.execute(delete(pending_tags).where(waiting))  # not yet tagged: never will be
            return _forget(conn, where)

    def remember_post(self, channel: str, ts: str, prediction_ids: Iterable[int]) -> None:
        """Remember that Heed's message ``channel``/``ts`` quotes these predictions' texts."""
        rows = [{"prediction_id": pid, "channel": channel, "ts": ts} for pid in set(prediction_ids)]
        if rows:
            with self._db.write() as conn:
                conn.execute(insert(heed_posts), rows)

    def tombstones(self, after: int = 0) -> tuple[int, frozenset[str]]:
        """The newest tombstone id and the text hashes of the tombstones after ``after``."""
        query = select(forgotten_texts.c.id, forgotten_texts.c.text_sha256).where(
            forgotten_texts.c.id > after
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return max((row[0] for row in rows), default=after), frozenset(row[1] for row in rows)

    def prune_tombstones(self, older_than: timedelta) -> int:
        """Delete tombstones older than ``older_than`` (the exports they clean are gone too)."""
        query = delete(forgotten_texts).where(forgotten_texts.c.created < now(-older_than))
        with self._db.write() as conn:
            return conn.execute(query).rowcount


def _forget(conn: Connection, where: ColumnElement[bool]) -> Forgotten:
    """In the caller's transaction: delete the predictions ``where`` selects, tombstone their
    texts and collect Heed's posts quoting them (its replies, its tracked DMs)."""
    p = predictions.c
    rows = conn.execute(select(p.id, p.text, p.source, p.channel, p.message_ts).where(where)).all()
    if not rows:
        return Forgotten(0, 0, frozenset())
    ids = select(p.id).where(where)
    replies = {
        (row.channel, row.message_ts)
        for row in rows
        if row.source == "classify" and row.channel and row.message_ts
    }
    posted = heed_posts.c
    tracked = select(posted.channel, posted.ts).where(posted.prediction_id.in_(ids))
    posts = replies | {(row[0], row[1]) for row in conn.execute(tracked)}
    answers = conn.execute(delete(feedback).where(feedback.c.prediction_id.in_(ids))).rowcount
    gone = conn.execute(delete(predictions).where(where)).rowcount  # queue rows, posts cascade
    texts = frozenset(row.text for row in rows)
    stamp = now()
    conn.execute(
        insert(forgotten_texts),
        [{"text_sha256": text_sha256(text), "created": stamp} for text in texts],
    )
    return Forgotten(gone, answers, texts, frozenset(posts))
