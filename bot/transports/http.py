"""HTTP mode on waitress, in this process (the model, job pool and retrain runner live here).

Why waitress (``benchmarks/http_abuse.py`` measured it against ``wsgiref`` and gunicorn's
``gthread``): its event loop reads each request whole before a worker thread is involved, so
idle or slow connections cost a socket, never a thread, and it refuses an oversized or
malformed ``Content-Length`` before reading the body. A client that trickles a request byte by
byte is cut off too: a request must arrive whole within :data:`DEADLINE_FACTOR` timeouts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.utilities import BadRequest, Error

log = logging.getLogger(__name__)

DEADLINE_FACTOR = 3


@dataclass(frozen=True)
class ServerLimits:
    """How much one server takes on (``HEED_HTTP_*`` and ``HEED_MAX_BODY``)."""

    threads: int = 8
    connections: int = 1000
    timeout: float = 10.0
    max_body: int = 1 << 20


class LengthRequired(Error):
    """411: the request's ``Content-Length`` is not a non-negative whole number."""

    code = 411
    reason = "Length Required"


Refused = Callable[[int], None]
"""Told the status code of each request the server itself refuses (before the app)."""


class _Parser(HTTPRequestParser):
    """waitress' parser, reporting each refusal; an unusable ``Content-Length`` is 411."""

    refused: Refused  # set per server, in HttpServer
    _reported = False
    path = ""
    """Read by waitress when a client leaves during an error answer; a request refused before
    its request line has none (an AttributeError and a logged traceback)."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.time()

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if isinstance(self.error, BadRequest) and "Content-Length" in self.error.body:
            self.error = LengthRequired("Content-Length must be a non-negative whole number")
        if self.error is not None and not self._reported:
            self._reported = True
            self.refused(self.error.code)
        return consumed


class _Server(TcpWSGIServer):
    """waitress' server, also closing connections whose request is not whole by its deadline."""

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        deadline = now - DEADLINE_FACTOR * self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            request = channel.request
            if request is not None and not request.completed and request.started < deadline:
                channel.will_close = True


class HttpServer:
    """A waitress server for ``app`` on ``host:port`` (0: any free port) on a thread of its own."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        host: str,
        port: int,
        limits: ServerLimits,
        name: str = "http",
        refused: Refused | None = None,
    ) -> None:
        self.name, self.host = name, host
        parser = type("Parser", (_Parser,), {"refused": staticmethod(refused or (lambda _: None))})
        channel = type("Channel", (HTTPChannel,), {"parser_class": parser})
        self._server = type("Server", (_Server,), {"channel_class": channel})(
            app,
            host=host,
            port=port,
            threads=limits.threads,
            connection_limit=limits.connections,
            channel_timeout=limits.timeout,
            cleanup_interval=max(1, int(limits.timeout / 2)),
            max_request_body_size=limits.max_body,
            max_request_header_size=64 * 1024,
            asyncore_use_poll=True,
            ident=None,
            expose_tracebacks=False,
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.effective_port)

    def start(self) -> HttpServer:
        """Serve on a daemon thread; the constructor raises OSError when the port is taken."""
        self._thread.start()
        log.info("%s server listening on http://%s:%d", self.name, self.host, self.port)
        return self

    def _run(self) -> None:
        try:
            self._server.run()
        except Exception:
            log.exception("the %s server stopped", self.name)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, close the connections, stop the worker threads."""
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=timeout)
        for channel in list(self._server._map.values()):
            channel.close()
        self._thread.join(timeout)
