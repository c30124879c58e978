"""HTTP mode under attack: are signed Slack requests still acked at once?

The attack (``tests/support/attack.py``): 300 idle connections held open (half a request
line, then nothing; any the server closes are opened again), and 3 threads that keep sending
unsigned 5 MiB bodies and malformed requests (no/negative/huge Content-Length, broken and
200,000-deep JSON, invalid UTF-8, bad timestamps and signatures). Meanwhile 20 correctly
signed ``/classify`` requests are sent at once, from 20 users.

1. Servers: the same guard in front of a stub Bolt that acks at once, each server in its own
   process: the standard library's ``wsgiref`` (what HTTP mode ran on before), gunicorn's
   ``gthread`` worker (``pip install gunicorn``; skipped without it) and waitress (Heed's).
2. Heed: ``python -m bot --port N`` with the embedded MiniLM (a fresh 3-label head) against
   the fake Slack; the same 20 requests idle (the baseline, same run) and under attack, with
   the reply latency (until ``chat.postMessage``) and the bot's RSS before and after.

    .venv/bin/python benchmarks/http_abuse.py
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, percentile, table, write_json

SECRET = "benchmark-signing-secret-0123456789"
HOST = "127.0.0.1"
SERVERS = ("wsgiref", "gunicorn", "waitress")
_STUB: Any = None


def stub_app() -> Any:
    """Heed's guard in front of a Bolt stand-in that acks every request at once."""
    from slack_bolt.response import BoltResponse

    from bot.ops.metrics import Metrics
    from bot.transports.guard import SlackGuard

    class AckAtOnce:
        def dispatch(self, request: Any) -> BoltResponse:
            return BoltResponse(status=200, body="")

    return SlackGuard(AckAtOnce(), SECRET, Metrics(), max_body=1 << 20)  # type: ignore[arg-type]


def stub_wsgi(environ: dict, start_response: Any) -> Any:
    """The WSGI entry point gunicorn imports (``benchmarks.http_abuse:stub_wsgi``)."""
    global _STUB
    if _STUB is None:
        _STUB = stub_app()
    return _STUB(environ, start_response)


def serve(kind: str, port: int) -> None:
    """Run the stub on ``kind``'s server until killed (the child side of :func:`start`)."""
    app = stub_app()
    if kind == "wsgiref":
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Threading(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        make_server(HOST, port, app, server_class=Threading, handler_class=Quiet).serve_forever()
    else:
        from bot.transports.http import HttpServer, ServerLimits

        server = HttpServer(app, HOST, port, ServerLimits())
        server.start()
        threading.Event().wait()  # until SIGTERM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(kind: str, port: int) -> subprocess.Popen:
    """Start the stub on ``kind``'s server in a child process; wait until it listens."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    if kind == "gunicorn":
        cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "8"]
        cmd += ["-b", f"{HOST}:{port}", "--log-level", "error", "benchmarks.http_abuse:stub_wsgi"]
    else:
        cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            time.sleep(0.5 if kind == "gunicorn" else 0.1)  # gunicorn's worker starts after
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def server_pid(proc: subprocess.Popen, kind: str) -> int:
    """The process that serves (gunicorn's worker, not its arbiter)."""
    if kind != "gunicorn":
        return proc.pid
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return int(children[0]) if children else proc.pid


def attack_round(port: int, pid: int, response_url: str, idle: int, flood: int) -> dict:
    """20 signed commands under attack (``idle`` = 0 and ``flood`` = 0: without one)."""
    from tests.support.attack import Flood, IdleConnections, concurrent_commands, rss_mib

    before = rss_mib(pid)
    attackers: list[Any] = []
    try:
        if idle:
            attackers.append(IdleConnections(HOST, port, idle).start())
        if flood:
            attackers.append(Flood(HOST, port, threads=flood).start())
        time.sleep(1.0 if attackers else 0)
        started = time.monotonic()
        results = concurrent_commands(HOST, port, SECRET, response_url, 20)
        peak = rss_mib(pid)
        time.sleep(1.0 if attackers else 0)
    finally:
        for attacker in attackers:
            attacker.stop()
    acks = [t for status, t in results if status == 200]
    statuses = attackers[-1].statuses if flood else {}
    return {
        "acked": len(acks),
        "ack_p50_ms": round(1000 * percentile(acks, 50), 1) if acks else None,
        "ack_p95_ms": round(1000 * percentile(acks, 95), 1) if acks else None,
        "ack_max_ms": round(1000 * max(acks), 1) if acks else None,
        "under_3s": sum(t < 3 for t in acks),
        "rss_before_mib": round(before, 1),
        "rss_peak_mib": round(peak, 1),
        "rss_after_mib": round(rss_mib(pid), 1),
        "attack_answers": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        "started": started,
    }


def servers_part(args: argparse.Namespace) -> list[dict]:
    rows = []
    for kind in SERVERS:
        if kind == "gunicorn":
            try:
                import gunicorn  # noqa: F401
            except ImportError:
                print("gunicorn is not installed: skipped (pip install gunicorn)")
                continue
        port = free_port()
        proc = start(kind, port)
        try:
            pid = server_pid(proc, kind)
            result = attack_round(port, pid, "http://127.0.0.1:9/unused", args.idle, args.flood)
        finally:
            proc.terminate()
            proc.wait(10)
        rows.append({"server": kind, **result})
        print(kind, result)
    return rows


def heed_part(args: argparse.Namespace) -> list[dict]:
    from benchmarks.replicas_load import build_store
    from tests.e2e.support import BotProcess, bot_env
    from tests.support.attack import metrics_text, readiness
    from tests.support.fakeslack import FakeSlack

    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        store = build_store(Path(tmp) / "models")
        port = free_port()
        env = bot_env(
            SLACK_API_URL=fake.api_url,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            HEED_MODEL_DIR=str(store),
            HEED_DATA_DIR=str(Path(tmp) / "var"),
            HEED_TORCH_THREADS="1",
            HEED_OPS_PUBLIC="true",
        )
        bot = BotProcess(env, Path(tmp) / "bot", ("--port", str(port)))
        try:
            bot.wait_until(lambda: _ready(readiness, port), timeout=180, what="ready")
            for name, idle, flood in (
                ("idle (baseline)", 0, 0),
                ("under attack", args.idle, args.flood),
            ):
                fake.reset()
                result = attack_round(
                    port, bot.proc.pid, f"{fake.base_url}/response/1", idle, flood
                )
                replies = _reply_latencies(fake, result.pop("started"))
                result["reply_p50_ms"] = (
                    round(1000 * percentile(replies, 50), 1) if replies else None
                )
                result["reply_p95_ms"] = (
                    round(1000 * percentile(replies, 95), 1) if replies else None
                )
                result["replied"] = len(replies)
                rows.append({"run": name, **result})
                print(name, result)
                time.sleep(2)
            log = bot.log()
            for row in rows:
                row["tracebacks_in_log"] = log.count("Traceback")
            heed_lines = metrics_text(HOST, port).splitlines()
            rows[-1]["metrics"] = [line for line in heed_lines if line.startswith("heed_")]
        finally:
            bot.stop()
    return rows


def _ready(readiness: Any, port: int) -> bool:
    try:
        return readiness(HOST, port)[0] == 200
    except OSError:
        return False


def _reply_latencies(fake: Any, started: float) -> list[float]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(fake.calls("chat.postMessage")) < 20:
        time.sleep(0.1)
    return sorted(c.time - started for c in fake.calls("chat.postMessage"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--idle", type=int, default=300, help="idle connections held open")
    parser.add_argument("--flood", type=int, default=3, help="threads sending garbage")
    parser.add_argument(
        "--skip-servers", action="store_true", help="skip part 1 (the servers): Heed only"
    )
    parser.add_argument(
        "--out", type=Path, default=default_out("http_abuse"), help="where the JSON results go"
    )
    parser.add_argument("--serve", choices=("wsgiref", "waitress"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    payload: dict[str, Any] = {
        "benchmark": "http_abuse",
        "hardware": hardware(),
        "args": vars(args),
    }
    if not args.skip_servers:
        payload["servers"] = servers_part(args)
        print(
            table(
                ["server", "acked", "< 3 s", "ack p50 ms", "ack p95 ms", "ack max ms",
                 "RSS before", "RSS after"],
                [
                    [r["server"], r["acked"], r["under_3s"], r["ack_p50_ms"], r["ack_p95_ms"],
                     r["ack_max_ms"], r["rss_before_mib"], r["rss_after_mib"]]
                    for r in payload["servers"]
                ],
            )
        )  # fmt: skip
    payload["heed"] = heed_part(args)
    print(
        table(
            ["run", "acked", "ack p50 ms", "ack p95 ms", "ack max ms", "reply p50 ms",
             "reply p95 ms", "RSS before", "RSS after"],
            [
                [r["run"], r["acked"], r["ack_p50_ms"], r["ack_p95_ms"], r["ack_max_ms"],
                 r["reply_p50_ms"], r["reply_p95_ms"], r["rss_before_mib"], r["rss_after_mib"]]
                for r in payload["heed"]
            ],
        )
    )  # fmt: skip
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
