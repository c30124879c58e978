"""``--stop-when-stdin-closes``: training stops like Ctrl-C when its caller dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from classifier.store import ModelStore
from tests.conftest import REPO, last_json, make_rows, write_csv
from training.watchdog import stop_when_stdin_closes


def test_end_of_input_raises_sigint(monkeypatch: pytest.MonkeyPatch) -> None:
    raised = threading.Event()
    monkeypatch.setattr(signal, "raise_signal", lambda sig: raised.set() if sig == 2 else None)
    read, write = os.pipe()
    thread = stop_when_stdin_closes(read)
    os.write(write, b"ignored bytes")
    assert not raised.wait(0.2)
    os.close(write)
    thread.join(5)
    os.close(read)
    assert raised.is_set()


def test_closing_stdin_of_the_real_process_interrupts_training(
    tiny_base, store_dir, tmp_path
) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(30))
    cmd = [sys.executable, "-m", "training", "train", "--data", str(data)]
    cmd += ["--base", str(tiny_base), "--epochs", "500", "--batch-size", "8", "--max-length"]
    cmd += ["32", "--promote", "--progress", "jsonl", "--json", "--stop-when-stdin-closes"]
    env = {**os.environ, "HEED_MODEL_DIR": str(store_dir)}
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("{") and json.loads(line).get("event") == "step":
                break
        assert proc.poll() is None, "".join(seen)
        started = time.monotonic()
        proc.stdin.close()  # what the kernel does when the bot dies
        proc.stdin = None  # communicate() must not touch the closed pipe
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    result = last_json(out)
    assert result["error"]["kind"] == "interrupted"
    assert result["error"]["message"] == "interrupted: no model version was written"
    assert time.monotonic() - started < 30
    assert ModelStore(store_dir).versions() == [] and not list(store_dir.glob(".staging-*"))
