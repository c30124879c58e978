"""The training child process: no Slack credentials (least privilege), its own session (a stop
signal reaches its whole group), and a stdin pipe the bot never writes: when the bot dies it
closes and the child stops itself (``--stop-when-stdin-closes``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from classifier.store import MODEL_DIR_ENV

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def child_env(model_dir: Path) -> dict[str, str]:
    """The bot's environment without Slack credentials, pointed at ``model_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env[MODEL_DIR_ENV] = str(model_dir)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    if (PROJECT_ROOT / "training" / "__main__.py").is_file():
        parts = [str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def spawn(cmd: list[str], stdout_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``cmd`` in its own session: stdout to ``stdout_path``, stderr piped, stdin a
    pipe kept open for the child's lifetime. Raises ``OSError`` when it cannot start."""
    with open(stdout_path, "w", encoding="utf-8") as stdout:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,  # never written: its closing tells the child we died
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            start_new_session=True,
        )


def signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the child's whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def read_events(
    stream: IO[str], on_event: Callable[[dict[str, Any]], None], other: Callable[[str], None]
) -> None:
    """Read the child's stderr to the end: each JSON progress event (an object with
    ``event``) goes to ``on_event``, every other non-empty line to ``other``."""
    for raw in stream:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        event = None
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
        if isinstance(event, dict) and "event" in event:
            on_event(event)
        else:
            other(line)
