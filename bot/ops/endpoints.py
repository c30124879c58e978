"""The operators' endpoints, as a small WSGI app served in both modes: ``/healthz``
(liveness), ``/readyz`` (200 or 503 with JSON naming each check) and ``/metrics``."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cachetools import TTLCache, cachedmethod

from bot.ops.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]
"""A readiness check: ``(ok, detail)``; it must not raise."""
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
TEXT = "text/plain; charset=utf-8"
CHECK_TTL = 2.0
"""Seconds a readiness answer is reused, so a probe storm does not become a database storm."""


class Readiness:
    """Named checks, answered together and cached for :data:`CHECK_TTL` seconds."""

    def __init__(self, checks: dict[str, Check]) -> None:
        self.checks = checks
        self._computing = threading.Condition()  # one round of checks per probe burst
        self._answer: TTLCache[Any, tuple[bool, dict[str, str]]] = TTLCache(1, CHECK_TTL)

    def add(self, name: str, check: Check) -> None:
        """Add or replace a check (e.g. the Slack connection, once the transport exists)."""
        with self._computing:
            self.checks[name] = check
            self._answer.clear()

    @cachedmethod(lambda self: self._answer, condition=lambda self: self._computing)
    def state(self) -> tuple[bool, dict[str, str]]:
        """``(ready, {check: "ok" or why not})``."""
        details: dict[str, str] = {}
        ready = True
        for name, check in self.checks.items():
            try:
                ok, detail = check()
            except Exception as exc:  # a check must not take the endpoint down
                ok, detail = False, f"check failed: {type(exc).__name__}"
            details[name] = "ok" if ok and not detail else detail
            ready = ready and ok
        return ready, details


def database_check(db: Any) -> Check:
    """The database answers a query (its schema revision)."""

    def check() -> tuple[bool, str]:
        try:
            db.revision()
        except Exception as exc:
            log.warning("readiness: the database does not answer: %s", type(exc).__name__)
            return False, "the database does not answer"
        return True, ""

    return check


def model_check(version: Callable[[], str | None]) -> Check:
    """A model version is loaded and serving."""
    return lambda: (True, "") if version() else (False, "no model is loaded yet")


def ops_app(metrics: Metrics, readiness: Readiness) -> Callable[..., Iterable[bytes]]:
    """The WSGI app for :data:`OPS_PATHS` (else 404; 405 unless GET/HEAD); it never reads a
    request body."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path not in OPS_PATHS:
            return respond(start_response, "404 Not Found", b"not found\n")
        if method not in ("GET", "HEAD"):
            allow = ("Allow", "GET")
            return respond(start_response, "405 Method Not Allowed", b"use GET\n", TEXT, allow)
        if path == "/healthz":
            return respond(start_response, "200 OK", b"ok\n")
        if path == "/readyz":
            ready, details = readiness.state()
            body = json.dumps({"ready": ready, "checks": details}).encode() + b"\n"
            status = "200 OK" if ready else "503 Service Unavailable"
            return respond(start_response, status, body, "application/json")
        return respond(start_response, "200 OK", metrics.render(), CONTENT_TYPE)

    return application


def respond(
    start_response: Callable[..., Any],
    status: str,
    body: bytes,
    content_type: str = TEXT,
    *extra: tuple[str, str],
) -> list[bytes]:
    """A whole WSGI response: ``body`` with its length, never cached."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start_response(status, [*headers, ("Cache-Control", "no-store")])
    return [body]
