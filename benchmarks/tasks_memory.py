"""Memory of one bot process serving 1, 2 and 3 tasks (MiniLM with fresh heads).

Three stores each serve the embedded all-MiniLM-L6-v2 with a fresh head of its own label count
(3, 4 and 5 labels). For N = 1, 2, 3 a fresh ``python -m bot`` in Socket Mode (a fake Slack on
loopback) gets a ``heed.toml`` of the first N tasks; tasks other than the default load on first
use, so one ``/classify --task NAME`` is sent per task, and the bot's resident set size
(``VmRSS`` in ``/proc/PID/status``) is read once it has answered and gone quiet. The bot's log
says whether each task's tokenizer was loaded or shared (identical files: one object).

    python benchmarks/tasks_memory.py [--settle 3]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, table, write_json

TASKS = (("default", 3), ("support", 4), ("triage", 5))
VERSION = "20260101-000000-abcdef"


def build_store(root: Path, n_labels: int) -> Path:
    """A model store at ``root`` serving MiniLM with a fresh ``n_labels``-label head."""
    from tests.support.stores import minilm_store

    return minilm_store(root, [f"label{i}" for i in range(n_labels)], VERSION)


def settle(fake, seconds: float) -> None:
    """Wait until the bot made no Slack call for ``seconds``."""
    last = -1
    while (count := len(fake.calls())) != last:
        last = count
        time.sleep(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument("--settle", type=float, default=3.0, help="quiet seconds before reading")
    parser.add_argument(
        "--out", default=str(default_out("tasks_memory")), help="where the JSON results go"
    )
    args = parser.parse_args()
    payload = {"benchmark": "tasks_memory", "hardware": hardware(), "args": vars(args)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="heed-tasks-") as name:
        tmp = Path(name)
        root = tmp / "models"
        for task, n_labels in TASKS:
            build_store(root if task == "default" else root / task, n_labels)
        for served in range(1, len(TASKS) + 1):
            rows.append(measure(tmp, root, served, args.settle))
            print(rows[-1], flush=True)
    extra = [b["rss_mib"] - a["rss_mib"] for a, b in itertools.pairwise(rows)]
    payload["results"] = rows
    payload["mib_per_extra_task"] = [round(x, 1) for x in extra]
    write_json(args.out, payload)
    headers = ["tasks", "labels", "rss_mib", "tokenizers_loaded"]
    print(table(headers, [[r[h] for h in headers] for r in rows]))
    print(f"MiB per extra task: {', '.join(f'{x:.1f}' for x in extra)}")
    return 0


def measure(tmp: Path, root: Path, served: int, quiet_s: float) -> dict:
    """A fresh bot serving the first ``served`` tasks, each used once: its RSS, and how many
    tokenizers it loaded (the rest were shared)."""
    from tests.e2e.support import BotProcess, bot_env
    from tests.support.attack import rss_mib
    from tests.support.fakeslack import FakeSlack

    tasks = TASKS[:served]
    config = tmp / f"heed-{served}.toml"
    config.write_text("".join(f"[tasks.{task}]\n" for task, _ in tasks), encoding="utf-8")
    with FakeSlack() as fake:
        env = bot_env(
            **fake.env(),
            HEED_MODEL_DIR=str(root),
            HEED_DATA_DIR=str(tmp / f"var-{served}"),
            HEED_CONFIG=str(config),
            HEED_TORCH_THREADS="1",
        )
        bot = BotProcess(env, tmp / f"bot-{served}")
        try:
            bot.wait_until(lambda: fake.connection_count > 0, timeout=300, what="connected")
            for task, _ in tasks:
                before = len(fake.calls("chat.postMessage"))
                fake.send_slash_command("/classify", f"--task {task} the cable arrived broken")
                bot.wait_until(
                    lambda b=before: len(fake.calls("chat.postMessage")) > b,
                    timeout=300,
                    what=f"answering for {task}",
                )
            settle(fake, quiet_s)
            rss = round(rss_mib(bot.proc.pid), 1)
            log = bot.log()
        finally:
            fake.close_connections()
            bot.stop()
    own = len(re.findall(r"\(its own tokenizer\)", log)) + 1  # + the default's, at start-up
    return {
        "tasks": served,
        "labels": "+".join(str(n) for _, n in tasks),
        "rss_mib": rss,
        "tokenizers_loaded": own,
    }


if __name__ == "__main__":
    sys.exit(main())
