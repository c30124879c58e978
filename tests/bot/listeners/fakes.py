"""What a listener callback is called with, without a running app: an ack that records its
answer, a Bolt context carrying the services, and services that record hand-offs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from bot.services import SERVICES_KEY
from tests.bot.stubs import settings


class Ack:
    """Records each ``ack(...)``'s keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kw: Any) -> None:
        self.calls.append(kw)


class RecordingServices:
    """Just enough :class:`~bot.services.Services` for the thin listeners: settings, and the
    jobs they hand off (recorded, never run)."""

    def __init__(self, **kw: Any) -> None:
        self.settings = settings(**kw)
        self.handed_off: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def submit_after_ack(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        self.handed_off.append((fn, args, kw))

    def submit(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        self.handed_off.append((fn, args, kw))

    def rate_limited(self, user: str | None) -> float:
        return 0.0


def context_for(services: Any, **extra: Any) -> BoltContext:
    """A request context as :func:`bot.listeners.register` leaves it."""
    return BoltContext({SERVICES_KEY: services, **extra})
