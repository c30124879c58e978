"""``python -m bot [--port N] [--train-default] [--env-file PATH]``: run Heed in Slack.

Socket Mode when ``SLACK_APP_TOKEN`` is set, else HTTP mode on ``--port`` (default 3000,
requests verified with ``SLACK_SIGNING_SECRET``). Settings come from the environment and a
``.env`` file (the environment wins). The SQLite database (feedback, jobs, audit log) is
``$HEED_DATA_DIR/heed.sqlite3``; a damaged one stops start-up, it is never replaced.
Exit codes: 0 after SIGTERM/Ctrl-C, 2 for a missing or malformed setting, a broken database
or no model to serve, 1 when Slack cannot be reached.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services

log = logging.getLogger("bot")

DEFAULT_PORT = 3000
SHUTDOWN_GRACE = 10.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Run Heed in Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP "
        "mode on --port. Settings come from the environment and .env.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP mode port")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP mode bind address")
    parser.add_argument(
        "--train-default",
        action="store_true",
        help="when no model is serving, fine-tune the bundled default first",
    )
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="default: ./.env")
    return parser


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(args.env_file, override=False)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        return _fail(str(exc))
    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535, got {args.port}")

    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets())
    return _run(settings, args)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from urllib.error import URLError

    from slack_bolt.error import BoltError

    from bot.app import build_app
    from bot.feedback import DB_FILENAME, FeedbackStore, FeedbackStoreError
    from bot.retrain import RetrainRunner
    from bot.services import Services
    from bot.serving import HOW_TO_TRAIN, ModelHolder, train_default
    from classifier.model import configure_threads
    from classifier.store import ModelNotFoundError, ModelStore

    try:
        feedback = FeedbackStore(settings.data_dir / DB_FILENAME)
    except FeedbackStoreError as exc:
        return _fail(str(exc))
    store = ModelStore(settings.model_dir)
    if store.current() is None and not args.train_default:
        feedback.close()
        return _fail(HOW_TO_TRAIN.format(root=store.root))

    configure_threads(settings.torch_threads)
    holder = ModelHolder(store, device=settings.device)
    runner = RetrainRunner(
        settings.model_dir,
        settings.train_data,
        feedback,
        timeout_s=settings.retrain_timeout,
        extra_args=settings.retrain_args,
        base=settings.base_model,
        exports_dir=settings.data_dir / "exports",
    )
    services = Services(settings, holder, feedback=feedback, retrain=runner)
    try:
        app = build_app(settings, holder, services=services)  # auth.test: fail fast
    except BoltError as exc:
        cause = getattr(exc.__context__, "response", None)
        code = cause.get("error") if cause is not None else "rejected"
        return _fail(f"SLACK_BOT_TOKEN was rejected by Slack (auth.test: {code})")
    except (URLError, OSError) as exc:
        where = settings.api_url or "slack.com"
        return _fail(f"cannot reach the Slack Web API at {where}: {exc}", 1)
    try:
        from classifier.model import pick_device

        pick_device(settings.device)
    except ValueError as exc:
        return _fail(f"HEED_DEVICE: {exc}")
    try:
        if store.current() is None:
            train_default(store, settings.device)
        holder.load()
    except (ModelNotFoundError, ValueError, OSError) as exc:
        return _fail(str(exc))
    except Exception as exc:
        log.exception("cannot load the model")
        return _fail(f"cannot load the model: {exc}", 1)
    holder.start_watching()
    log.info(
        "serving model %s; auto-tagging %s; replies %s; database %s; admins %s",
        holder.version,
        ", ".join(settings.autotag_channels) or "off",
        "private" if settings.private_replies else "in channel",
        feedback.path,
        _admins(settings),
    )

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if settings.socket_mode:
            _serve_socket_mode(app, settings, stop)
        else:
            _serve_http(app, args.host, args.port, stop)
    finally:
        holder.stop()
        _drain(services)
    log.info("stopped")
    return 0


def _admins(settings: Settings) -> str:
    who = sorted(settings.admins) + (
        ["workspace admins/owners"] if settings.admins_from_workspace else []
    )
    return ", ".join(who) or "none (set HEED_ADMINS)"


def _serve_socket_mode(app: App, settings: Settings, stop: threading.Event) -> None:
    from bot.socket_mode import AckFirstSocketModeHandler

    handler = AckFirstSocketModeHandler(app, settings.app_token, concurrency=16)
    handler.connect()
    log.info("Heed is up in Socket Mode")
    stop.wait()
    handler.client.auto_reconnect_enabled = False
    closer = threading.Thread(target=handler.close, daemon=True)
    closer.start()
    closer.join(3.0)


def _serve_http(app: App, host: str, port: int, stop: threading.Event) -> None:
    from bot.http_server import make_http_server

    server = make_http_server(app, port, host)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    log.info("Heed is up in HTTP mode on port %d", server.server_port)
    stop.wait()
    server.shutdown()
    server.server_close()


def _drain(services: Services) -> None:
    """Let running jobs finish (bounded), then stop the pools."""
    closer = threading.Thread(target=services.close, daemon=True)
    closer.start()
    closer.join(SHUTDOWN_GRACE)
    if closer.is_alive():
        log.warning("jobs still running after %.0fs; exiting anyway", SHUTDOWN_GRACE)
        logging.shutdown()
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
