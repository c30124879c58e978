"""app_home_opened: only the Home tab, for a user, is published (as a job)."""

from __future__ import annotations

from unittest.mock import MagicMock

from bot.handlers.home import publish_home
from bot.listeners.home import on_home_opened
from tests.bot.listeners.fakes import RecordingServices, context_for


def test_the_home_tab_is_published_by_a_job() -> None:
    services, client = RecordingServices(), MagicMock()
    on_home_opened({"type": "app_home_opened", "user": "U3"}, client, context_for(services))
    assert services.handed_off == [
        (publish_home, (services, client, "U3"), {"context": {"event": "home"}})
    ]


def test_other_tabs_and_userless_events_are_ignored() -> None:
    services = RecordingServices()
    on_home_opened({"user": "U3", "tab": "messages"}, MagicMock(), context_for(services))
    on_home_opened({"tab": "home"}, MagicMock(), context_for(services))
    assert services.handed_off == []
