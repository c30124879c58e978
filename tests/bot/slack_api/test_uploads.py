"""Upload a file, or say why not, once: into the same place, or to whoever ``tell`` reaches."""

from __future__ import annotations

from unittest.mock import MagicMock
from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.handlers.classify import HEATMAP_FILENAME, upload_heatmap
from bot.slack_api.uploads import upload_or_say_why
from classifier.types import Explanation, Prediction
from tests.support.fakeslack import FakeSlack

PNG = b"\x89PNG\r\n\x1a\nfake"


def explanation() -> Explanation:
    scores = {"negative": 0.2, "positive": 0.8}
    return Explanation("rollout", ["ok"], [1.0], Prediction("positive", 0.8, scores, "v1"))


def upload(client: object, **kw: object) -> bool:
    args = {
        "channel": "C1",
        "thread_ts": "1.5",
        "content": b"a,b\n",
        "filename": "x.csv",
        "title": "X",
        "comment": "here",
        "what": "CSV",
        **kw,
    }
    return upload_or_say_why(client, **args)


def test_an_upload_lands_where_it_was_sent(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.api_url, token="xoxb-test", timeout=5)
    assert upload_heatmap(client, channel="C1", thread_ts="1.5", png=PNG, explanation=explanation())
    [done] = fake.uploads
    assert done.completed and done.data == PNG and done.filename == HEATMAP_FILENAME
    assert (done.channel, done.thread_ts) == ("C1", "1.5")
    assert done.title == "Heed: positive 80.0% (rollout)" and "*positive*" in done.initial_comment
    assert not fake.calls("chat.postMessage")


def test_a_failed_upload_is_said_in_the_same_thread(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.api_url, token="xoxb-test", timeout=5)
    fake.fail_uploads(times=1)
    assert not upload_heatmap(
        client, channel="C1", thread_ts="1.5", png=PNG, explanation=explanation()
    )
    note = fake.wait_for_call("chat.postMessage", timeout=5).params
    assert (note["channel"], note["thread_ts"]) == ("C1", "1.5")
    assert (
        note["text"]
        == ":warning: Heed couldn't upload the heatmap: HTTP 500 from the upload server"
    )


def test_tell_gets_the_note_instead_of_the_channel() -> None:
    client, told = MagicMock(), []
    client.files_upload_v2.side_effect = SlackApiError(
        "x", {"ok": False, "error": "not_in_channel"}
    )
    assert not upload(client, tell=told.append)
    assert told == [
        ":warning: Heed couldn't upload the CSV: not_in_channel — invite Heed to this channel "
        "(`/invite @Heed`) to get the CSV"
    ]
    client.chat_postMessage.assert_not_called()


def test_a_note_that_cannot_be_posted_is_only_logged() -> None:
    client = MagicMock()
    client.files_upload_v2.side_effect = HTTPError("u", 503, "down", {}, None)
    client.chat_postMessage.side_effect = SlackApiError("x", {"ok": False, "error": "is_archived"})
    assert upload(client) is False
    assert "HTTP 503" in client.chat_postMessage.call_args.kwargs["text"]


def failure_note(error: str) -> str:
    client, told = MagicMock(), []
    client.files_upload_v2.side_effect = SlackApiError("x", {"ok": False, "error": error})
    assert not upload(client, tell=told.append)
    return told[0]


def test_the_failure_note_names_what_failed_and_escapes_the_reason() -> None:
    assert "/invite @Heed" not in failure_note("is_archived")
    note = failure_note("channel_not_found")
    assert "couldn't upload the CSV: channel_not_found" in note and "to get the CSV" in note
    assert "&lt;x&gt;" in failure_note("<x>")
