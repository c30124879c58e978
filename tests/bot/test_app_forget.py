"""Forgetting, in-process against the fake Slack: ``forget`` reaches the author of a text someone
else classified through the shortcut, deletes Heed's own posts that quote it, drops it from the
kept exports and leaves none of its bytes in the database's files (SQLite's WAL included);
the audit log keeps the user ID; a deleted auto-tagged message takes its stored text along."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.database.exports import write_jsonl, write_private
from tests.support.fakeslack import FakeSlack

SECRET = "the walrus knows my pin is 4711"
SAID = "my own words about the walrus"


def shortcut(fake: FakeSlack, text: str, clicker: str, author: str) -> None:
    fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_classify_message",
            "trigger_id": "1.T1.trigger",
            "user": {"id": clicker, "username": clicker.lower()},
            "channel": {"id": "C1", "name": "general"},
            "message": {"type": "message", "user": author, "ts": "3.3", "text": text},
            "response_url": f"{fake.base_url}/response/shortcut",
        }
    )


def files_holding(folder: Path, text: str) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_forget_reaches_the_author_heeds_posts_the_exports_and_the_files(
    heed: Any, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    app = heed(data_dir=data)
    fake = app.fake
    shortcut(fake, SECRET, clicker="UMOD", author="UBO")  # classified by someone else
    fake.wait_for(lambda: app.db.predictions.get(1) is not None, timeout=10)
    stored = app.db.predictions.get(1)
    assert (stored.user, stored.author) == ("UMOD", "UBO")
    reply = fake.send_slash_command("/classify", SAID, user_id="UBO")
    posted = fake.wait_for_call("chat.postMessage", lambda c: bool(c.params.get("blocks")))
    assert fake.wait_for_ack(reply)
    fake.wait_for(lambda: app.db.predictions.get(2) is not None, timeout=10)
    web = WebClient(token="xoxb-test", base_url=fake.api_url)
    digest = web.chat_postMessage(channel="ULAB", text=f"digest: {SECRET}")
    app.db.forgetting.remember_post(digest["channel"], digest["ts"], [1])
    export = data / "exports" / "corrections-1.jsonl"
    write_private(export, lambda h: write_jsonl(h, [(SECRET, "neutral"), ("kept", "neutral")]))

    answer = app.admin("forget <@UBO|bo>")
    assert answer.params["text"].startswith(":wastebasket: Forgot <@UBO>: deleted 2 texts")
    assert app.db.predictions.get(1) is None and app.db.predictions.get(2) is None
    deleted = {(c.params["channel"], c.params["ts"]) for c in fake.calls("chat.delete")}
    assert {(digest["channel"], digest["ts"]), ("C1", posted.response["ts"])} <= deleted
    assert export.read_text(encoding="utf-8").count("\n") == 1 and SECRET not in export.read_text()
    assert files_holding(data, "walrus") == []  # heed.sqlite3, -wal, -shm and the exports
    entry = app.db.audit.recent(1)[0]
    assert entry.action == "forget" and "arguments 'UBO'" in entry.detail
    assert "bo>" not in entry.detail
    assert len(app.db.forgetting.tombstones()[1]) == 2  # for the other replicas' exports


def test_a_deleted_auto_tagged_message_takes_its_text_along(heed: Any, tmp_path: Path) -> None:
    app = heed(data_dir=tmp_path / "var", autotag_channels=("C1",))
    fake = app.fake
    _, ts = fake.send_message_event(SECRET, user_id="UBO")
    fake.wait_for(lambda: app.db.predictions.find_by_message("C1", ts), timeout=10)
    _, other = fake.send_message_event("a message that stays", user_id="UBO")
    fake.wait_for(lambda: app.db.predictions.find_by_message("C1", other), timeout=10)
    fake.send_event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": "C1",
            "deleted_ts": ts,
            "ts": "9.9",
            "previous_message": {"type": "message", "user": "UBO", "ts": ts, "text": SECRET},
        }
    )
    fake.wait_for(lambda: app.db.predictions.find_by_message("C1", ts) is None, timeout=10)
    assert app.db.predictions.find_by_message("C1", other) is not None
    fake.wait_for(lambda: files_holding(tmp_path / "var", "walrus") == [], timeout=10)
