"""What Heed counts and times, in Prometheus form, on a registry per bot (so tests and several
bots in one process never mix counts). Label values come from fixed sets, never user input."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


class _ModelVersion(Collector):
    """``heed_model_info{version=…} 1`` for the version serving at scrape time."""

    def __init__(self, version: Callable[[], str | None]) -> None:
        self.version = version

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "heed_model_info", "The model version this replica serves", labels=["version"]
        )
        family.add_metric([self.version() or "none"], 1.0)
        yield family


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
            "HTTP requests refused before reaching Bolt, by reason",
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
        for kind in KINDS:  # so a scrape shows every series from the start
            self.requests.labels(kind)

    def watch_model(self, version: Callable[[], str | None]) -> None:
        """Export the serving version (read at each scrape) as ``heed_model_info``."""
        self.registry.register(_ModelVersion(version))

    def render(self) -> bytes:
        """The text exposition format for ``GET /metrics``."""
        return generate_latest(self.registry)
