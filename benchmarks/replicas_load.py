"""Auto-tag throughput through two bot replicas on PostgreSQL, with redeliveries mixed in.

Starts a fake Slack on loopback, a throwaway PostgreSQL cluster (or uses ``--database-url``)
and two real ``python -m bot`` processes in Socket Mode sharing one model store. Then sends
``--messages`` human messages to alternate replicas; ``--redeliver`` of them are delivered again
to the *other* replica with the same event id (Slack's retry), and ``--duplicate`` again under a
new event id (the same message twice). It waits until every message has its reaction and
counts messages **lost** (no reaction) and **handled twice** (more than one): both must be 0.

The baseline in the same run is one replica on the embedded SQLite database with the same
stream. The model is the embedded all-MiniLM-L6-v2 with an untrained 3-label head (inference
cost is what matters here, not accuracy).

    python benchmarks/replicas_load.py [--messages 300] [--redeliver 0.3] [--duplicate 0.1]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, table, write_json

TEXTS = (
    "the cable arrived on tuesday and works",
    "terrible battery, it died after a day",
    "love the colour, great value for the price",
    "the manual is missing a page about the size",
    "refund please, the box was broken",
)


def build_store(root: Path) -> Path:
    """A model store serving MiniLM with a fresh 3-label head."""
    from tests.support.stores import minilm_store

    return minilm_store(root, ["negative", "neutral", "positive"])


def run_stream(fake, replicas: int, args: argparse.Namespace) -> dict:
    """Send the stream to ``replicas`` connections; wait for the reactions; count them."""
    rng = random.Random(args.seed)
    fake.reset()
    sent: list[str] = []
    started = time.monotonic()
    envelopes = 0
    for i in range(args.messages):
        target = i % replicas
        other = (target + 1) % replicas
        text = f"{rng.choice(TEXTS)} #{i}"
        envelope, ts = fake.send_message_event(text, connection=target)
        sent.append(ts)
        envelopes += 1
        if rng.random() < args.redeliver:
            fake.redeliver(envelope, connection=other)
            envelopes += 1
        if rng.random() < args.duplicate:
            fake.send_message_event(text, ts=ts, connection=other)
            envelopes += 1
        if args.rate:
            time.sleep(1 / args.rate)

    def tagged() -> Counter:
        return Counter(c.params.get("timestamp") for c in fake.calls("reactions.add"))

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and len(tagged()) < len(sent):
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    time.sleep(2.0)  # late duplicates would show up now
    counts = tagged()
    return {
        "replicas": replicas,
        "messages": len(sent),
        "envelopes": envelopes,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(sent) / elapsed, 1),
        "envelopes_per_s": round(envelopes / elapsed, 1),
        "lost": sum(1 for ts in sent if counts[ts] == 0),
        "handled_twice": sum(1 for ts in sent if counts[ts] > 1),
    }


def start_bots(stack: ExitStack, fake, store: Path, database_url: str | None, n: int, tmp: Path):
    """Start ``n`` Socket Mode replicas and wait until each is connected."""
    from tests.e2e.support import BotProcess, bot_env

    for i in range(n):
        env = bot_env(
            **fake.env(),
            HEED_MODEL_DIR=str(store),
            HEED_DATA_DIR=str(tmp / f"replica-{i}"),
            HEED_AUTOTAG_CHANNELS="C1",
            HEED_TORCH_THREADS="1",
        )
        if database_url:
            env["HEED_DATABASE_URL"] = database_url
        bot = BotProcess(env, tmp / f"replica-{i}")
        stack.callback(bot.stop)
        bot.wait_until(lambda i=i: fake.connection_count > i, timeout=180, what="connected")


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages", type=int, default=300, help="human messages sent, to alternate replicas"
    )
    parser.add_argument(
        "--redeliver",
        type=float,
        default=0.3,
        help="share delivered again to the other replica, same event id (Slack's retry)",
    )
    parser.add_argument(
        "--duplicate",
        type=float,
        default=0.1,
        help="share sent again under a new event id (the same message twice)",
    )
    parser.add_argument("--rate", type=float, default=0, help="messages/s to send (0: burst)")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait for every reaction"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="which messages are redelivered or duplicated"
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a throwaway cluster)")
    parser.add_argument(
        "--out", type=Path, default=default_out("replicas_load"), help="where the JSON results go"
    )
    args = parser.parse_args()

    from tests.support.fakeslack import FakeSlack
    from tests.support.postgres import throwaway_cluster

    payload = {"benchmark": "replicas_load", "hardware": hardware(), "args": vars(args)}
    results = []
    with tempfile.TemporaryDirectory(prefix="heed-load-") as name, ExitStack() as stack:
        tmp = Path(name)
        store = build_store(tmp / "models")
        for replicas, backend in ((1, "sqlite"), (2, "postgresql")):
            with ExitStack() as run, FakeSlack() as fake:
                url = None
                if backend == "postgresql":
                    url = args.database_url or run.enter_context(throwaway_cluster())
                start_bots(run, fake, store, url, replicas, tmp / backend)
                result = {"backend": backend, **run_stream(fake, replicas, args)}
                fake.close_connections()
            results.append(result)
            print(result, flush=True)
        stack.close()
    payload["results"] = results
    write_json(args.out, payload)
    keys = ["backend", "replicas", "messages", "envelopes", "messages_per_s", "lost"]
    print(
        table([*keys, "handled_twice"], [[r[k] for k in [*keys, "handled_twice"]] for r in results])
    )
    return 0 if all(r["lost"] == 0 and r["handled_twice"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
