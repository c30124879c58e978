"""Concurrent ``/classify``: 1, 5 and 20 commands at once through a real bot process.

Starts a fake Slack on loopback and one real ``python -m bot`` process in Socket Mode per
explanation method, serving the embedded all-MiniLM-L6-v2 with an untrained 3-label head
(cost does not depend on the weights' values) or ``--model DIR``. For each concurrency level
it sends that many ``/classify`` commands at once (each in its own channel, each a different
22-word text) and times, from the moment each envelope was sent, the Block Kit reply (the
text has been explained, the heatmap drawn) and the completed heatmap upload. ``--rounds``
bursts per level, after two warm-up commands.

The baseline in the same run is the previous default, ``gradient`` (integrated gradients,
one explanation at a time behind the classifier's lock), against the batched one-pass
default (``attn-grad``).

    python benchmarks/concurrent_classify.py [--levels 1,5,20] [--rounds 3]
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

from benchmarks._common import default_out, hardware, percentile, table, write_json
from benchmarks.replicas_load import build_store
from classifier.types import DEFAULT_EXPLAIN_METHOD

TEXT = (
    "the parcel came two days late and the box was crushed but the blender works fine "
    "and support answered within the hour"
)
WORDS = TEXT.split()


def text_for(i: int) -> str:
    """A 22-word text, different for every command (the words rotated by ``i``)."""
    k = i % len(WORDS)
    return " ".join(WORDS[k:] + WORDS[:k])


def burst(fake, n: int, tag: str, timeout: float) -> list[dict]:
    """Send ``n`` commands at once; per command, seconds to the reply and to the upload."""
    channels = [f"C{tag}{i:03d}" for i in range(n)]
    envelopes = [  # n people at once (one user would meet HEED_CLASSIFY_PER_MINUTE)
        fake.send_slash_command("/classify", text_for(i), channel_id=ch, user_id=f"U{tag}{i:03d}")
        for i, ch in enumerate(channels)
    ]
    acks = [fake.wait_for_ack(e, timeout=timeout) for e in envelopes]

    def reply(channel: str):
        return next(
            (
                c
                for c in fake.calls("chat.postMessage")
                if c.params.get("channel") == channel and c.params.get("blocks")
            ),
            None,
        )

    def upload(channel: str):
        return next(
            (
                c
                for c in fake.calls("files.completeUploadExternal")
                if c.params.get("channel_id") == channel
            ),
            None,
        )

    fake.wait_for(
        lambda: all(reply(ch) and upload(ch) for ch in channels), timeout=timeout, what="replies"
    )
    return [
        {
            "ack_s": ack.latency,
            "reply_s": reply(ch).time - ack.sent_at,
            "upload_s": upload(ch).time - ack.sent_at,
        }
        for ack, ch in zip(acks, channels, strict=True)
    ]


def serve(root: Path, model: Path | None) -> Path:
    """A model store serving ``model`` (a copy), else MiniLM with a fresh 3-label head."""
    if model is None:
        return build_store(root)
    version = "20260101-000000-abcdef"
    shutil.copytree(model, root / version)
    (root / "current").write_text(version + "\n", encoding="utf-8")
    return root


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(1000 * statistics.median(values), 1),
        "p95_ms": round(1000 * percentile(values, 95), 1),
        "max_ms": round(1000 * max(values), 1),
    }


def run_method(fake, store: Path, method: str, args: argparse.Namespace, tmp: Path) -> dict:
    """Start a bot explaining with ``method``; time every level's bursts."""
    from tests.e2e.support import BotProcess, bot_env

    env = bot_env(
        **fake.env(),
        HEED_MODEL_DIR=str(store),
        HEED_DATA_DIR=str(tmp / method / "var"),
        HEED_EXPLAIN_METHOD=method,
    )
    if args.threads:
        env["HEED_TORCH_THREADS"] = str(args.threads)
    bot = BotProcess(env, tmp / method)
    try:
        bot.wait_until(lambda: fake.connection_count > 0, timeout=180, what="connected")
        burst(fake, 2, f"W{method[:2]}", args.timeout)  # warm-up
        out = {}
        for level in args.levels:
            rows: list[dict] = []
            for r in range(args.rounds):
                rows += burst(fake, level, f"{method[:2]}{level}r{r}", args.timeout)
                time.sleep(0.3)
            out[str(level)] = {
                kind: summary([row[f"{kind}_s"] for row in rows])
                for kind in ("ack", "reply", "upload")
            }
            print(f"[concurrent] {method} x{level}: {out[str(level)]}", file=sys.stderr)
        return out
    finally:
        fake.close_connections()
        bot.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument(
        "--levels", default="1,5,20", help="comma list: /classify commands sent at once"
    )
    parser.add_argument("--rounds", type=int, default=3, help="bursts per level")
    parser.add_argument(
        "--methods",
        default=f"gradient,{DEFAULT_EXPLAIN_METHOD}",
        help="comma list of explanation methods, the baseline first",
    )
    parser.add_argument("--model", type=Path, help="a model DIR to serve (default: fresh head)")
    parser.add_argument("--threads", type=int, default=None, help="HEED_TORCH_THREADS")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for a burst's replies"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out("concurrent_classify"),
        help="where the JSON results go",
    )
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",") if x]
    methods = [m for m in args.methods.split(",") if m]

    from tests.support.fakeslack import FakeSlack

    payload: dict = {
        "benchmark": "concurrent_classify",
        "hardware": hardware(),
        "text_words": len(WORDS),
        "args": {k: str(v) for k, v in vars(args).items()},
        "model": str(args.model) if args.model else "embedded MiniLM, fresh 3-label head",
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="heed-concurrent-") as name:
        tmp = Path(name)
        store = serve(tmp / "models", args.model)
        for method in methods:
            with FakeSlack() as fake:
                payload["results"][method] = run_method(fake, store, method, args, tmp)
            write_json(args.out, payload)
    rows = []
    for method, levels in payload["results"].items():
        for level, kinds in levels.items():
            rows.append(
                [
                    method,
                    level,
                    kinds["reply"]["n"],
                    f"{kinds['reply']['p50_ms']:.0f}",
                    f"{kinds['reply']['p95_ms']:.0f}",
                    f"{kinds['reply']['max_ms']:.0f}",
                    f"{kinds['upload']['p50_ms']:.0f}",
                    f"{kinds['upload']['p95_ms']:.0f}",
                ]
            )
    payload["table"] = table(
        [
            "method",
            "concurrent",
            "commands",
            "reply p50 ms",
            "reply p95 ms",
            "reply max ms",
            "upload p50 ms",
            "upload p95 ms",
        ],
        rows,
    )
    write_json(args.out, payload)
    print(f"wrote {args.out}")
    print(payload["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
