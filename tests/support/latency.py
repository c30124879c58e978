"""The /classify latencies the e2e tests record, merged across pytest-xdist workers.

Tests call :func:`record_latency`; each xdist worker hands its records to the controller when
it finishes (:func:`export_records` / :func:`merge_records`), and the process that prints the
summary (the controller, or the only process without xdist) reports them all.
"""

from __future__ import annotations

import json
import math
import statistics

LATENCIES: dict[str, dict[str, list[float]]] = {}
WORKER_OUTPUT_KEY = "heed_e2e_latencies"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def record_latency(scenario: str, kind: str, seconds: list[float]) -> None:
    """Keep latencies for the summary (``kind``: ack, reply, upload)."""
    LATENCIES.setdefault(scenario, {}).setdefault(kind, []).extend(seconds)


def export_records() -> str:
    """This process's records as JSON (what a worker sends to the controller)."""
    return json.dumps(LATENCIES)


def merge_records(exported: str) -> None:
    """Add the records of :func:`export_records` from another process."""
    for scenario, kinds in json.loads(exported).items():
        for kind, seconds in kinds.items():
            record_latency(scenario, kind, seconds)


def latency_summary() -> dict[str, dict[str, dict[str, float]]]:
    """p50/p95/max in milliseconds per scenario and kind."""
    return {
        scenario: {
            kind: {
                "n": len(values),
                "p50_ms": round(1000 * statistics.median(values), 1),
                "p95_ms": round(1000 * percentile(values, 95), 1),
                "max_ms": round(1000 * max(values), 1),
            }
            for kind, values in kinds.items()
            if values
        }
        for scenario, kinds in LATENCIES.items()
    }
