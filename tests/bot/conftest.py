"""The in-process Heed the app tests drive against the fake Slack: a stub classifier, a real
database and a stand-in for the training CLI (no torch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.feedback import CORRECT_ACTION, FEEDBACK_BLOCK_ID
from bot.database import Database
from bot.services import Services
from bot.serving.holder import ModelHolder
from classifier.store import ModelStore
from tests.bot.stubs import StubClassifier, services_for
from tests.support.fakeslack import Call, FakeSlack
from tests.support.inprocess import InProcessApps

V1 = "20260101-000000-abcdef"
ADMIN = "UADMIN"


class Heed:
    """A running in-process app: the fake, its services, the database and the model store."""

    def __init__(self, fake: FakeSlack, services: Services, models: Path) -> None:
        self.fake, self.services, self.models = fake, services, models
        self.db: Database = services.db

    def admin(self, text: str, user: str = ADMIN, channel: str = "C1") -> Call:
        """Send ``/heed-admin TEXT`` and return the first response_url answer to it."""
        before = len(self.fake.calls("response_url"))
        envelope = self.fake.send_slash_command(
            "/heed-admin", text, user_id=user, channel_id=channel
        )
        assert self.fake.wait_for_ack(envelope).latency < 3
        return self.fake.wait_for(
            lambda: self.fake.calls("response_url")[before:], timeout=10, what="an answer"
        )[0]

    def classify(self, text: str = "so good", channel: str = "C1") -> Call:
        before = len(self.fake.calls("chat.postMessage"))
        self.fake.send_slash_command("/classify", text, channel_id=channel)
        return self.fake.wait_for(
            lambda: [
                c for c in self.fake.calls("chat.postMessage")[before:] if c.params.get("blocks")
            ],
            timeout=10,
            what="a /classify reply",
        )[0]


def controls(reply: Call) -> list[dict]:
    [actions] = [b for b in reply.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    return actions["elements"]


def select_option(fake: FakeSlack, reply: Call, label: str, user: str) -> str:
    """Pick ``label`` in the reply's "Actually it's…" menu (a static_select block action)."""
    select = controls(reply)[1]
    [option] = [o for o in select["options"] if o["text"]["text"] == label]
    return fake.send_block_action(
        CORRECT_ACTION,
        user_id=user,
        channel_id=reply.params["channel"],
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
        selected_option=option,
    )


@pytest.fixture
def heed(fake: FakeSlack, tmp_path: Path) -> Iterator[Any]:
    apps = InProcessApps(fake)

    def run(*, python: str | None = None, data: tuple[Path, ...] = (), **kw: Any) -> Heed:
        models = tmp_path / "models"
        models.mkdir(exist_ok=True)
        (models / "current").write_text(V1 + "\n")
        (models / "history.json").write_text(json.dumps([V1]))
        holder = ModelHolder(
            ModelStore(models), loader=lambda version, store: StubClassifier(version=version)
        )
        holder.load()
        kw.setdefault("admins", frozenset({ADMIN}))
        services = services_for(
            tmp_path,
            holder=holder,
            python=python or "/bin/false",
            data=data,
            api_url=fake.api_url,
            **kw,
        )
        apps.start(services)
        return Heed(fake, services, models)

    yield run
    apps.stop_all()
