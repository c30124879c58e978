"""What operators see: Heed's counts and timings in Prometheus form, on a registry per bot (so
tests and bots in one process never mix counts; label values come from fixed sets, never user
input), served with ``/healthz`` and ``/readyz`` (JSON naming each check) by a small WSGI app."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from cachetools import TTLCache, cachedmethod
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from bot.agreement import Agreement

log = logging.getLogger(__name__)

AGREEMENT_TTL = 60.0
"""Seconds the agreement figures are reused between scrapes (each reading is a query)."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
KINDS = ("classify", "admin", "command", "message", "home", "event", "feedback", "action")
KINDS += ("shortcut", "view", "other")


def request_kind(body: Mapping[str, Any]) -> str:
    """The kind of a Slack request body, one of :data:`KINDS`."""
    command = body.get("command")
    if isinstance(command, str):
        return {"/classify": "classify", "/heed-admin": "admin"}.get(command, "command")
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        event_type = event.get("type") if isinstance(event, dict) else None
        return {"message": "message", "app_home_opened": "home"}.get(event_type, "event")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], dict) else {}
        return "feedback" if str(first.get("action_id", "")).startswith("heed_") else "action"
    if kind in ("message_action", "shortcut"):
        return "shortcut"
    if kind in ("view_submission", "view_closed"):
        return "view"
    return "other"


class Metrics:
    """The bot's counters, histograms and gauges (see ``docs/ARCHITECTURE.md``, Operations)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        counter = partial(Counter, registry=self.registry)
        histogram = partial(Histogram, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.requests = counter("heed_requests", "Slack requests received, by kind", ["kind"])
        self.rejected = counter(
            "heed_http_rejected",
            "Requests refused before reaching a listener, by reason",
            ["reason"],
        )
        self.ack_seconds = histogram(
            "heed_ack_seconds", "Time from a request's arrival to its acknowledgement", ["kind"]
        )
        self.reply_seconds = histogram(
            "heed_reply_seconds",
            "Time from a request's arrival to the end of the work it started",
            ["kind"],
        )
        self.predictions = counter(
            "heed_predictions", "Predictions made, by source and label", ["source", "label"]
        )
        self.autotags = counter("heed_autotags", "Auto-tagging outcomes per message", ["outcome"])
        self.upload_failures = counter("heed_upload_failures", "Heatmap uploads that failed")
        self.retrain_jobs = counter(
            "heed_retrain_jobs", "Retraining jobs finished, by outcome", ["outcome"]
        )
        self.busy = counter(
            "heed_busy_refusals",
            "Requests refused politely: the job queue was full or the user over the rate limit",
            ["reason"],
        )
        self.jobs_pending = Gauge(
            "heed_jobs_pending", "Jobs queued or running on the job pool", registry=self.registry
        )
        self.drift = Gauge(
            "heed_drift",
            "Population stability index of the last 7 days' predictions against the serving "
            "version's held-out ones, by task and kind (labels, confidence)",
            ["task", "kind"],
            registry=self.registry,
        )
        self.autotag_pending = Gauge(
            "heed_autotag_pending",
            "Messages queued in the database for their auto-tag (every replica's)",
            registry=self.registry,
        )
        self.autotag_oldest = Gauge(
            "heed_autotag_oldest_seconds",
            "Seconds the oldest message queued for its auto-tag has waited (0: none waits)",
            registry=self.registry,
        )
        self.model_info = Info(
            "heed_model", "The model version this replica serves", registry=self.registry
        )
        self.agreement_items = Gauge(
            "heed_agreement_items",
            "Messages answered by two labelers or more, per task",
            ["task"],
            registry=self.registry,
        )
        self.agreement_kappa = Gauge(
            "heed_agreement_kappa",
            "Labeler agreement per task: the mean pairwise Cohen's kappa (measure=cohen) and "
            "Fleiss' kappa (measure=fleiss), absent while undefined",
            ["task", "measure"],
            registry=self.registry,
        )
        self.label_agreement = Gauge(
            "heed_label_agreement",
            "Each label's specific agreement between labelers (agreeing answer pairs), per task",
            ["task", "label"],
            registry=self.registry,
        )
        self._version: Callable[[], str | None] = lambda: None
        self._agreements: Callable[[], Mapping[str, Agreement]] | None = None
        self._agreed_at = -AGREEMENT_TTL
        self._agreement_lock = threading.Lock()
        for kind in KINDS:  # so a scrape shows every series from the start
            self.requests.labels(kind)

    def watch_model(self, version: Callable[[], str | None]) -> None:
        """Export the serving version (read at each scrape) as ``heed_model_info``."""
        self._version = version

    def watch_agreement(self, read: Callable[[], Mapping[str, Agreement]]) -> None:
        """Export each task's agreement figures (``read`` at most every :data:`AGREEMENT_TTL`)."""
        self._agreements = read

    def _update_agreement(self) -> None:
        with self._agreement_lock:
            if self._agreements is None or time.monotonic() - self._agreed_at < AGREEMENT_TTL:
                return
            self._agreed_at = time.monotonic()
            try:
                found = self._agreements()
            except Exception:
                log.exception("cannot read the labeler agreement for /metrics")
                return
            for gauge in (self.agreement_items, self.agreement_kappa, self.label_agreement):
                gauge.clear()
            for task, figures in found.items():
                self.agreement_items.labels(task).set(figures.items)
                for measure, value in (("cohen", figures.mean_kappa), ("fleiss", figures.fleiss)):
                    if value is not None:
                        self.agreement_kappa.labels(task, measure).set(value)
                for label in figures.labels:
                    self.label_agreement.labels(task, label.label).set(label.agreement)

    def render(self) -> bytes:
        """The text exposition format for ``GET /metrics``."""
        self.model_info.info({"version": self._version() or "none"})
        self._update_agreement()
        return generate_latest(self.registry)


Check = Callable[[], tuple[bool, str]]
"""A readiness check: ``(ok, detail)``; it must not raise."""
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
PUBLIC_OPS_PATHS = ("/healthz",)
"""What HTTP mode's public port serves of :data:`OPS_PATHS` unless ``HEED_OPS_PUBLIC=true``."""
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
