"""The real Bolt app, run in the test process and connected to the fake Slack (Socket Mode).

Faster than the ``python -m bot`` process of the e2e tests, for tests that stub the model.
"""

from __future__ import annotations

from bot.app import build_app
from bot.handlers.autotag_worker import AutotagWorker, start_autotag_worker
from bot.services import Services
from bot.transports.socket_mode import AckFirstSocketModeHandler
from tests.support.fakeslack import FakeSlack


class InProcessApps:
    """Starts apps for ``services`` against ``fake`` and stops them all at the end."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self._running: list[tuple[AckFirstSocketModeHandler, AutotagWorker, Services]] = []

    def start(self, services: Services) -> AutotagWorker:
        """Build the app for ``services``, start its auto-tag worker and wait until its Socket
        Mode connection is up; the worker, for tests that look at it."""
        app = build_app(services)
        handler = AckFirstSocketModeHandler(app, "xapp-test", services.metrics)
        worker = start_autotag_worker(services, app.client, owner="in-process")
        handler.connect()
        self.fake.wait_connected(timeout=5)
        self._running.append((handler, worker, services))
        return worker

    def stop_all(self) -> None:
        """Disconnect every app without reconnecting, then close its services."""
        for handler, worker, services in self._running:
            handler.client.auto_reconnect_enabled = False
            self.fake.close_connections()
            handler.close()
            worker.stop()
            services.close()
        self._running.clear()
