"""What the labelling queue costs: recording a prediction with and without its queue offer,
and reading the queue, on SQLite and a throwaway PostgreSQL.

For each backend a fresh database gets ``--rows`` predictions (distinct texts, random
three-class probabilities scored by margin), recorded in alternating blocks of ``--block``
without and with ``queue=QueueOffer`` (``HEED_QUEUE_SIZE`` = ``--size``), so both see the same
table sizes and machine load. Reported: p50/p95 of one ``Predictions.record`` call each way,
the overhead ratio of the medians, ``LabelQueue.top(5)`` (what ``/heed-admin queue`` and
each digest read) once the table holds every row, and how many items stayed open.

    python benchmarks/queue_cost.py [--rows 4000] [--block 100] [--size 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, summarise, table, write_json


def probabilities(rng: random.Random) -> dict[str, float]:
    raw = [rng.random() for _ in range(3)]
    total = sum(raw)
    labels = ("negative", "neutral", "positive")
    return {label: p / total for label, p in zip(labels, raw, strict=True)}


def measure(url: str, args: argparse.Namespace) -> dict:
    """Record ``args.rows`` predictions in alternating blocks; time each call."""
    from bot.database import Database
    from bot.database.queue import QueueOffer
    from classifier.uncertainty import uncertainty

    rng = random.Random(args.seed)
    plain, queued = [], []
    with Database(url) as db:
        for i in range(args.rows):
            scores = probabilities(rng)
            offer = (i // args.block) % 2 == 1
            kwargs = {
                "text": f"message number {i} about parcel {rng.randrange(10**9)}",
                "label": max(scores, key=scores.get),
                "confidence": max(scores.values()),
                "scores": scores,
                "channel": "C1",
                "user": "U1",
                "source": "autotag",
            }
            if offer:
                kwargs["queue"] = QueueOffer(uncertainty(scores.values()), size=args.size)
            start = time.perf_counter()
            db.predictions.record(**kwargs)
            (queued if offer else plain).append(time.perf_counter() - start)
        reads = []
        for _ in range(50):
            start = time.perf_counter()
            top = db.queue.top("default", 5)
            reads.append(time.perf_counter() - start)
        open_items = len(db.queue.top("default", args.size * 2))
    a, b = summarise(plain), summarise(queued)
    return {
        "record_ms": a,
        "record_with_queue_ms": b,
        "overhead_ratio_p50": b["p50_ms"] / a["p50_ms"],
        "top5_ms": summarise(reads),
        "open_items": open_items,
        "top_uncertainty": [round(item.uncertainty, 4) for item in top],
    }


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="predictions per backend")
    parser.add_argument("--block", type=int, default=100, help="calls per alternating block")
    parser.add_argument("--size", type=int, default=200, help="HEED_QUEUE_SIZE")
    parser.add_argument("--seed", type=int, default=0, help="the texts and scores drawn")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a throwaway cluster)")
    parser.add_argument(
        "--out", type=Path, default=default_out("queue_cost"), help="where the JSON results go"
    )
    args = parser.parse_args()

    from tests.support.postgres import throwaway_cluster

    payload = {"benchmark": "queue_cost", "hardware": hardware(), "args": vars(args)}
    results = []
    with tempfile.TemporaryDirectory(prefix="heed-queue-") as name, ExitStack() as stack:
        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite":
                url = f"sqlite:///{Path(name) / 'heed.sqlite3'}"
            else:
                url = args.database_url or stack.enter_context(throwaway_cluster())
            results.append({"backend": backend, **measure(url, args)})
            print(results[-1], flush=True)
    payload["results"] = results
    write_json(args.out, payload)
    rows = [
        [
            r["backend"],
            r["record_ms"]["p50_ms"],
            r["record_ms"]["p95_ms"],
            r["record_with_queue_ms"]["p50_ms"],
            r["record_with_queue_ms"]["p95_ms"],
            r["overhead_ratio_p50"],
            r["top5_ms"]["p50_ms"],
            r["open_items"],
        ]
        for r in results
    ]
    headers = [
        "backend",
        "record p50 ms",
        "p95",
        "record+queue p50 ms",
        "p95",
        "ratio p50",
        "top(5) p50 ms",
        "open",
    ]
    print(table(headers, rows))
    return 0 if all(r["open_items"] == args.size for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
