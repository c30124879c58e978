"""Auto-tags through real bot replicas: a burst and a fixed rate, on SQLite and PostgreSQL, and a
replica killed with SIGKILL mid-burst; nothing may be lost or handled twice.

Starts a fake Slack on loopback and real ``python -m bot`` processes in Socket Mode sharing one
model store: one replica on the embedded SQLite database, then two on a throwaway PostgreSQL
cluster (or ``--database-url``). Each setup gets ``--messages`` human messages at once (the
burst), then as many at ``--rate`` messages/s, sent to alternate replicas; ``--redeliver`` of
them are delivered again to the *other* replica with the same event id (Slack's retry), and
``--duplicate`` again under a new event id (the same message twice). Last, the two PostgreSQL
replicas get another burst and the second is killed with SIGKILL after half of it; from then on
Slack's part is played as Slack does: everything goes to the survivor, and an envelope not
acked within :data:`RETRY_S` is delivered again. Each run waits until every message has its
reaction and counts messages **lost** (no reaction) and **handled twice** (more than one
reaction Slack accepted, or more than one auto-tag prediction stored for it), the time until
the last tag, the ack latencies (Slack's limit is 3 s) and each replica's RSS before and after.
The model is the embedded all-MiniLM-L6-v2 with an untrained 3-label head.

    python benchmarks/replicas_load.py [--messages 1000] [--rate 30] [--redeliver 0.3]
        [--duplicate 0.1] [--no-kill]
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

from benchmarks._common import default_out, hardware, percentile, table, write_json

TEXTS = (
    "the cable arrived on tuesday and works",
    "terrible battery, it died after a day",
    "love the colour, great value for the price",
    "the manual is missing a page about the size",
    "refund please, the box was broken",
)
RETRY_S = 3.0
"""Seconds after which Slack delivers an unacknowledged event again (the ack limit)."""
COLUMNS = ["backend", "replicas", "mode", "messages", "envelopes", "seconds", "messages_per_s"]
COLUMNS += ["ack_p99_ms", "ack_max_ms", "lost", "handled_twice", "rss_mib"]


def build_store(root: Path) -> Path:
    """A model store serving MiniLM with a fresh 3-label head."""
    from tests.support.stores import minilm_store

    return minilm_store(root, ["negative", "neutral", "positive"])


def rss_mib(pid: int) -> float:
    """The resident set size of process ``pid`` in MiB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return round(int(kib) / 1024, 1)


def stored_twice(database_url: str, sent: list[str]) -> int:
    """Messages of ``sent`` with more than one auto-tag prediction in the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    query = text(
        "SELECT message_ts FROM predictions WHERE source = 'autotag' "
        "GROUP BY channel, message_ts HAVING COUNT(*) > 1"
    )
    try:
        with engine.connect() as conn:
            twice = {row[0] for row in conn.execute(query)}
    finally:
        engine.dispose()
    return len(twice & set(sent))


class Stream:
    """One run: messages sent to the live replicas, and Slack's retries of unacked ones."""

    def __init__(self, fake, bots: list, args: argparse.Namespace) -> None:
        self.fake, self.bots, self.args = fake, bots, args
        self.alive = len(bots)
        self.envelopes: dict[str, list[str]] = {}  # ts -> its envelopes (first: the message's)
        self.last_sent: dict[str, float] = {}
        self.count = 0

    def send(self, rate: float, kill_at: int | None) -> float:
        """Send the messages (at ``rate``/s, 0: at once), killing the last replica at message
        ``kill_at``; returns when the first was sent."""
        rng, fake = random.Random(self.args.seed), self.fake
        started = time.monotonic()
        for i in range(self.args.messages):
            if i == kill_at:
                self.kill()
            target, other = i % self.alive, (i + 1) % self.alive  # open connections, oldest first
            text = f"{rng.choice(TEXTS)} #{i}"
            envelope, ts = fake.send_message_event(text, connection=target)
            self._sent(ts, envelope)
            if rng.random() < self.args.redeliver:
                self._sent(ts, fake.redeliver(envelope, connection=other))
            if rng.random() < self.args.duplicate:
                self._sent(ts, fake.send_message_event(text, ts=ts, connection=other)[0])
            if rate:
                time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        return started

    def kill(self) -> None:
        """SIGKILL the newest replica (no shutdown: its leases and unacked envelopes are left
        behind) and wait until Slack's side sees its connection closed."""
        victim = self.bots[-1]
        victim.proc.kill()
        victim.proc.wait()
        self.alive -= 1
        self.fake.wait_for(
            lambda: self.fake.connection_count == self.alive, timeout=30, what="closed"
        )

    def _sent(self, ts: str, envelope: str) -> None:
        self.envelopes.setdefault(ts, []).append(envelope)
        self.last_sent[ts] = time.monotonic()
        self.count += 1

    def retry_unacked(self) -> None:
        """Deliver again to a live replica every message none of whose envelopes was acked."""
        acked = {a.envelope_id for a in self.fake.acks}
        now = time.monotonic()
        for ts, envelopes in self.envelopes.items():
            if now - self.last_sent[ts] > RETRY_S and not acked.intersection(envelopes):
                self._sent(ts, self.fake.redeliver(envelopes[0], connection=0))


def reactions(fake) -> list:
    """The reactions Slack accepted (a refused ``already_reacted`` is not a second tag)."""
    return [c for c in fake.calls("reactions.add") if (c.response or {}).get("ok")]


def run_stream(fake, bots: list, args: argparse.Namespace, mode: str, database_url: str) -> dict:
    """Send one stream (``mode``: burst, rate or kill); wait for the reactions; count them."""
    fake.reset()
    live = [bot for bot in bots if bot.proc.poll() is None]
    rss_before = [rss_mib(bot.proc.pid) for bot in live]
    stream = Stream(fake, live, args)
    kill_at = args.messages // 2 if mode == "kill" else None
    started = stream.send(args.rate if mode == "rate" else 0, kill_at)
    sent = list(stream.envelopes)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        tagged = {c.params.get("timestamp") for c in reactions(fake)}
        if tagged >= set(sent):
            break
        stream.retry_unacked()
        time.sleep(0.1)
    time.sleep(2.0)  # late duplicates would show up now
    accepted = reactions(fake)
    counts = Counter(c.params.get("timestamp") for c in accepted)
    acked = {a.envelope_id for a in fake.acks}
    for ts in (ts for ts in sent if counts[ts] == 0):
        shown = [f"{e[:8]}{' acked' if e in acked else ''}" for e in stream.envelopes[ts]]
        said = [line for bot in bots for line in bot.log().splitlines() if ts in line]
        print(f"lost {ts}: envelopes {', '.join(shown)}; logged: {said}", flush=True)
    elapsed = max((c.time for c in accepted), default=time.monotonic()) - started
    acks = [a.latency for a in fake.acks]
    twice = {ts for ts in sent if counts[ts] > 1}
    labels = {"burst": "burst", "rate": f"{args.rate:g}/s", "kill": "burst, SIGKILL"}
    return {
        "replicas": len(live),
        "mode": labels[mode],
        "messages": len(sent),
        "envelopes": stream.count,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(sent) / elapsed, 1),
        "ack_p50_ms": round(percentile(acks, 50) * 1000, 1),
        "ack_p99_ms": round(percentile(acks, 99) * 1000, 1),
        "ack_max_ms": round(max(acks) * 1000, 1),
        "acks_over_3s": sum(1 for a in acks if a > 3.0),
        "lost": sum(1 for ts in sent if counts[ts] == 0),
        "handled_twice": len(twice) + stored_twice(database_url, sent),
        "rss_mib": f"{'/'.join(map(str, rss_before))} -> "
        f"{'/'.join(str(rss_mib(b.proc.pid)) for b in live)}",
    }


def start_bots(stack: ExitStack, fake, store: Path, database_url: str, n: int, tmp: Path) -> list:
    """Start ``n`` Socket Mode replicas and wait until each is connected."""
    from tests.e2e.support import BotProcess, bot_env

    bots = []
    for i in range(n):
        env = bot_env(
            **fake.env(),
            HEED_MODEL_DIR=str(store),
            HEED_DATA_DIR=str(tmp / f"replica-{i}"),
            HEED_DATABASE_URL=database_url,
            HEED_AUTOTAG_CHANNELS="C1",
            HEED_TORCH_THREADS="1",
        )
        bot = BotProcess(env, tmp / f"replica-{i}")
        stack.callback(bot.stop)
        bot.wait_until(lambda i=i: fake.connection_count > i, timeout=180, what="connected")
        bots.append(bot)
    return bots


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages", type=int, default=1000, help="human messages per run, to alternate replicas"
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
    parser.add_argument(
        "--rate", type=float, default=30, help="messages/s of the fixed-rate runs (0: none)"
    )
    parser.add_argument(
        "--no-kill", action="store_true", help="skip the run that SIGKILLs a replica"
    )
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
    with tempfile.TemporaryDirectory(prefix="heed-load-") as name:
        tmp = Path(name)
        store = build_store(tmp / "models")
        for replicas, backend in ((1, "sqlite"), (2, "postgresql")):
            modes = ["burst", *(["rate"] if args.rate else [])]
            if backend == "postgresql" and not args.no_kill:
                modes.append("kill")
            with ExitStack() as run, FakeSlack() as fake:
                url = f"sqlite:///{tmp / 'sqlite.db'}"
                if backend == "postgresql":
                    url = args.database_url or run.enter_context(throwaway_cluster())
                bots = start_bots(run, fake, store, url, replicas, tmp / backend)
                for mode in modes:
                    result = {"backend": backend, **run_stream(fake, bots, args, mode, url)}
                    results.append(result)
                    print(result, flush=True)
                fake.close_connections()
    payload["results"] = results
    write_json(args.out, payload)
    print(table(COLUMNS, [[r[k] for k in COLUMNS] for r in results]))
    return 0 if all(r["lost"] == 0 and r["handled_twice"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
