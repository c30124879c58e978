"""The start-up checks that need no model: the database opens, a model serves (or
``--train-default`` will train one) and Slack accepts the bot token. ``python -m bot`` runs
them before it imports :mod:`bot.runtime` (torch, transformers: 5-6 CPU-seconds of imports), so
a bad set-up fails in well under a second. Each failure is a :class:`StartupError`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import URLError

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.database import Database, DatabaseError
from bot.retention import PRIVATE_UMASK
from bot.settings import Settings
from bot.slack_api.client import make_client
from classifier.store import ModelStore

HOW_TO_TRAIN = (
    "no model is serving in {root}: train one first with `make demo` (the bundled default) or "
    "`python -m training train --data FILE --promote`, or start with `python -m bot "
    "--train-default`"
)


class StartupError(RuntimeError):
    """The bot cannot start (one line for stderr); ``code``: 2, or 1 if Slack or the port fail."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def preflight(settings: Settings, *, train_default: bool) -> Database:
    """Open the database (private files from here on), check the default task's store and the
    bot token; returns the open database, closed again if a later check fails."""
    os.umask(PRIVATE_UMASK)  # the database, exports and model versions: 0600 files, 0700 folders
    try:
        db = Database(settings.database_url)
    except DatabaseError as exc:
        raise StartupError(str(exc)) from exc
    try:
        store = ModelStore(settings.tasks.default.model_dir)
        if store.current() is None and not train_default:
            raise StartupError(HOW_TO_TRAIN.format(root=store.root))
        with slack_errors(settings):
            make_client(settings).auth_test()
    except StartupError:
        db.close()
        raise
    return db


@contextmanager
def slack_errors(settings: Settings) -> Iterator[None]:
    """``auth.test`` failing in the block, directly or inside Bolt's app, as a
    :class:`StartupError`: a rejected token (2) or an unreachable Web API (1)."""
    try:
        yield
    except SlackApiError as exc:
        raise _rejected(exc.response) from exc
    except BoltError as exc:
        raise _rejected(getattr(exc.__context__, "response", None)) from exc
    except (URLError, OSError) as exc:
        where = settings.api_url or "slack.com"
        raise StartupError(f"cannot reach the Slack Web API at {where}: {exc}", 1) from exc


def _rejected(response: SlackResponse | None) -> StartupError:
    code = response.get("error") if response is not None else "rejected"
    return StartupError(f"SLACK_BOT_TOKEN was rejected by Slack (auth.test: {code})")
