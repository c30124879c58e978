"""What a shadow version costs: ``/classify`` latency and auto-tag throughput of a real bot with
and without one, in the same run (issue 24's goal: at most 1.3x).

A model store serves the embedded all-MiniLM-L6-v2 with a fresh 3-label head (cost does not
depend on the weights' values) and holds a copy of it as a second version. For each mode
(``none``, then ``shadow``, alternating for ``--rounds`` rounds) one real ``python -m bot``
process in Socket Mode starts against a fake Slack on loopback; in ``shadow`` mode its database
names the copy as the default task's shadow before it starts, so every ``/classify`` and
auto-tag is also predicted by it. Measured per round:

* ``/classify``: ``--commands`` commands one after another, seconds from each envelope to its
  Block Kit reply and to the shadow's recorded prediction (the shadow runs after the reply);
* auto-tags: ``--messages`` messages sent at once to the auto-tag channel, messages per second
  until the last reaction.

Usage::

    python benchmarks/shadow_cost.py [--rounds 2] [--commands 20] [--messages 100]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, table, write_json
from benchmarks.concurrent_classify import burst, text_for
from benchmarks.replicas_load import build_store

SHADOW = "20260102-000000-5ad0e0"
AUTOTAG_CHANNEL = "CAUTOTAG"


def with_shadow(store: Path) -> None:
    """Copy the serving version as :data:`SHADOW`."""
    current = (store / "current").read_text(encoding="utf-8").strip()
    shutil.copytree(store / current, store / SHADOW)


def autotag_burst(fake, n: int, tag: str, timeout: float) -> float:
    """Send ``n`` messages at once to the auto-tag channel; messages/s until the last reaction."""
    started = time.monotonic()
    sent = {
        fake.send_message_event(f"{text_for(i)} {tag}", channel_id=AUTOTAG_CHANNEL)[1]
        for i in range(n)
    }

    def done() -> bool:
        reacted = {c.params.get("timestamp") for c in fake.calls("reactions.add")}
        return sent <= reacted

    fake.wait_for(done, timeout=timeout, interval=0.05, what="every reaction")
    return n / (time.monotonic() - started)


def run_mode(fake, store: Path, mode: str, args: argparse.Namespace, tmp: Path) -> dict:
    """Start a bot (its database naming the shadow in ``shadow`` mode) and time it."""
    from bot.database import Database
    from tests.e2e.support import BotProcess, bot_env

    data = tmp / mode / "var"
    data.mkdir(parents=True)
    if mode == "shadow":
        with Database(data / "heed.sqlite3") as db:
            db.shadows.start("default", SHADOW, "benchmark")
    env = bot_env(
        **fake.env(),
        HEED_MODEL_DIR=str(store),
        HEED_DATA_DIR=str(data),
        HEED_AUTOTAG_CHANNELS=AUTOTAG_CHANNEL,
        HEED_CLASSIFY_PER_MINUTE="0",
    )
    bot = BotProcess(env, tmp / mode)
    try:
        bot.wait_until(lambda: fake.connection_count > 0, timeout=300, what="connected")
        burst(fake, 1, f"W{mode[:2]}", args.timeout)  # warm-up (and the shadow's first load)
        replies = []
        for i in range(args.commands):
            replies += [row["reply_s"] for row in burst(fake, 1, f"{mode[:2]}{i}", args.timeout)]
        rate = autotag_burst(fake, args.messages, mode, args.timeout)
        shadowed = 0
        if mode == "shadow":  # the shadow records after the answers: wait for the last batch
            expected = args.commands + 1 + args.messages
            with Database(data / "heed.sqlite3") as db:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    shadowed = len(db.shadows.pairs("default", SHADOW))
                    if shadowed >= expected:
                        break
                    time.sleep(0.5)
        return {
            "reply_p50_ms": round(1000 * statistics.median(replies), 1),
            "autotag_messages_per_s": round(rate, 1),
            "shadow_predictions": shadowed,
        }
    finally:
        fake.close_connections()
        bot.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--rounds", type=int, default=2, help="none/shadow pairs, alternating")
    parser.add_argument("--commands", type=int, default=20, help="/classify per round, serially")
    parser.add_argument("--messages", type=int, default=100, help="auto-tag burst per round")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for a round's replies and tags"
    )
    parser.add_argument(
        "--out", type=Path, default=default_out("shadow_cost"), help="JSON results file"
    )
    args = parser.parse_args()

    from tests.support.fakeslack import FakeSlack

    runs: dict[str, list[dict]] = {"none": [], "shadow": []}
    with tempfile.TemporaryDirectory(prefix="heed-shadow-") as name:
        tmp = Path(name)
        store = build_store(tmp / "models")
        with_shadow(store)
        for r in range(args.rounds):
            for mode in ("none", "shadow"):
                with FakeSlack() as fake:
                    result = run_mode(fake, store, mode, args, tmp / f"round-{r}")
                runs[mode].append(result)
                print(f"[shadow_cost] round {r} {mode}: {result}", file=sys.stderr)
    medians = {
        mode: {
            key: statistics.median(run[key] for run in results)
            for key in ("reply_p50_ms", "autotag_messages_per_s")
        }
        for mode, results in runs.items()
    }
    ratio_reply = medians["shadow"]["reply_p50_ms"] / medians["none"]["reply_p50_ms"]
    ratio_rate = (
        medians["none"]["autotag_messages_per_s"] / medians["shadow"]["autotag_messages_per_s"]
    )
    payload = {
        "benchmark": "shadow_cost",
        "hardware": hardware(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "runs": runs,
        "medians": medians,
        "cost": {"classify_p50": round(ratio_reply, 2), "autotag_time": round(ratio_rate, 2)},
    }
    rows = [
        [
            mode,
            f"{m['reply_p50_ms']:.0f}",
            f"{m['autotag_messages_per_s']:.1f}",
        ]
        for mode, m in medians.items()
    ]
    rows.append(["shadow / none", f"{ratio_reply:.2f}x", f"{ratio_rate:.2f}x (time)"])
    payload["table"] = table(["shadow", "/classify reply p50 ms", "auto-tags / s"], rows)
    write_json(args.out, payload)
    print(payload["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
