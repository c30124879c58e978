"""E2E helpers: the real ``python -m bot`` process against the fake Slack, latency records.

Tests start a module-scoped :class:`BotProcess` with a copy of the tiny model in its own
store. Latencies recorded with :func:`record_latency` are printed in pytest's summary and
written to ``e2e-latency.json`` in the session's temporary directory (tests/support/latency.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.fakeslack import FakeSlack
from tests.support.latency import record_latency as record_latency  # the tests record here

REPO = Path(__file__).resolve().parents[2]
VERSION = "20260101-000000-abcdef"
START_TIMEOUT = 120.0
# A clean SIGTERM exit took over 15 s while xdist workers and other bots shared 2 cores.
STOP_TIMEOUT = 60.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_store(tiny_model: Path, root: Path) -> Path:
    """A model store at ``root`` serving a copy of the tiny model as :data:`VERSION`."""
    shutil.copytree(tiny_model, root / VERSION)
    (root / "current").write_text(VERSION + "\n", encoding="utf-8")
    return root


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env(**overrides: str) -> dict[str, str]:
    """The current environment without any Slack/Heed settings, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HEED_"))}
    env.update(
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
        HEED_DEVICE="cpu",
    )
    env.update(overrides)
    return env


def run_bot(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` to completion (a start-up that fails, or ``migrate``)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class BotProcess:
    """``python -m bot`` in a subprocess, its stderr/stdout in a log file."""

    def __init__(self, env: dict[str, str], workdir: Path, args: tuple[str, ...] = ()) -> None:
        self.log_path = workdir / "bot.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        """Everything the bot wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, ready: Any, timeout: float = START_TIMEOUT, what: str = "ready") -> None:
        """Poll ``ready()`` until true; fail with the log if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"bot not {what} after {timeout}s:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait (kill if it hangs); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def start_socket_bot(
    fake: FakeSlack, store: Path, workdir: Path, **settings: str
) -> Iterator[BotProcess]:
    """Start a Socket Mode bot against ``fake`` and wait for its connection; stop it after."""
    env = bot_env(**fake.env(), HEED_MODEL_DIR=str(store), HEED_DATA_DIR=str(workdir / "var"))
    env.update(settings)
    bot = BotProcess(env, workdir)
    try:
        bot.wait_until(lambda: fake.connection_count > 0, what="connected")
        yield bot
    finally:
        fake.close_connections()
        code = bot.stop()
        assert code == 0, f"bot exit code {code}:\n{bot.log()[-3000:]}"


def wait_quiet(fake: FakeSlack, seconds: float = 0.6) -> None:
    """Wait until the fake received no call for ``seconds`` (the bot is idle)."""
    last = -1
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        count = len(fake.calls())
        if count == last:
            return
        last = count
        time.sleep(seconds)
