"""One ``/heed-admin`` request as its subcommand handlers see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.services import Services


@dataclass(frozen=True)
class AdminRequest:
    """An allowed, audited ``/heed-admin`` subcommand: who asked where, and the rest of the
    text after the subcommand."""

    services: Services
    client: WebClient
    respond: Respond
    command: dict[str, Any]
    rest: str = ""
    task: str = "default"
    """The task the subcommand acts on (``/heed-admin status support``; else the default)."""

    @property
    def user(self) -> str | None:
        """The admin's user id."""
        return self.command.get("user_id")

    def private(self, text: str, blocks: list[dict] | None = None) -> None:
        """Answer the admin only (ephemeral, through the command's ``response_url``)."""
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
