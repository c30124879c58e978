"""Driving a retrain the way an admin does: ``/heed-admin retrain``, read the preview, click
Start.

The preview runs a check child that imports torch: on 2 cores shared by the xdist workers it
took over 60 s, so the deadlines are generous (they only bound a failure).
"""

from __future__ import annotations

from urllib.parse import urlparse

from bot.retrain.messages import PREVIEW_BLOCK_ID, START_ACTION
from tests.support.fakeslack import Call, FakeSlack

PREVIEW_TIMEOUT = 180.0


def preview_for(fake: FakeSlack, envelope: str, timeout: float = PREVIEW_TIMEOUT) -> Call:
    """The preview answered to the ``/heed-admin retrain`` sent as ``envelope``."""
    path = urlparse(fake.envelope(envelope)["payload"]["response_url"]).path
    return fake.wait_for(
        lambda: [
            c for c in fake.calls("response_url") if c.path == path and c.params.get("blocks")
        ],
        timeout=timeout,
        what="the retrain preview",
    )[0]


def click_start(
    fake: FakeSlack, preview: Call, user: str, channel_id: str = "C1", connection: int = -1
) -> str:
    """Click the preview's Start button as ``user``; returns the click's envelope id."""
    [actions] = [b for b in preview.params["blocks"] if b.get("block_id") == PREVIEW_BLOCK_ID]
    [start] = [e for e in actions["elements"] if e["action_id"] == START_ACTION]
    return fake.send_block_action(
        START_ACTION,
        start["value"],
        user_id=user,
        channel_id=channel_id,
        block_id=PREVIEW_BLOCK_ID,
        message={"type": "message", "ts": "0.1"},
        connection=connection,
    )


def request_retrain(
    fake: FakeSlack,
    user: str,
    channel_id: str = "C1",
    connection: int = -1,
    timeout: float = PREVIEW_TIMEOUT,
    text: str = "retrain",
) -> str:
    """``/heed-admin retrain`` (or ``text``, e.g. ``retrain support``) then Start on its
    preview; returns the click's envelope id."""
    envelope = fake.send_slash_command(
        "/heed-admin", text, user_id=user, channel_id=channel_id, connection=connection
    )
    preview = preview_for(fake, envelope, timeout)
    return click_start(fake, preview, user, channel_id, connection)
