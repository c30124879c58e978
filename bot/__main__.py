"""``python -m bot``: run Heed in Slack (``migrate``: bring the database to this Heed's schema).
Exits 0 on SIGTERM/Ctrl-C, 2 with one ``error:`` line for a bad setup, 1 if Slack is unreachable."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.settings import Settings, SettingsError, database_url_from_env
from classifier.cli_support import exit_now, load_env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        allow_abbrev=False,
        description="Run Heed in Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP "
        "mode on --port. Settings come from the environment and .env "
        "(every one: docs/configuration.md).",
        epilog="python -m bot migrate [--env-file PATH]: bring the database to this Heed's "
        "schema (see python -m bot migrate --help).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=3000,
        help="HTTP mode: the port Slack's requests arrive on (default %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="HTTP mode: the address to listen on (default %(default)s: behind a proxy on this "
        "host, docs/operations.md; 0.0.0.0 to be reached from elsewhere)",
    )
    parser.add_argument(
        "--train-default",
        action="store_true",
        help="when the default task has no model serving, fine-tune one on the bundled "
        "sample first (minutes on a CPU) instead of refusing to start",
    )
    _env_file_flag(parser)
    return parser


def _env_file_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="the .env file to read; the environment wins over it "
        "(default: $HEED_ENV_FILE, else ./.env)",
    )


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def _migrate(argv: list[str]) -> int:
    """``python -m bot migrate [--env-file PATH]``: needs only the database settings."""
    parser = argparse.ArgumentParser(
        prog="python -m bot migrate",
        allow_abbrev=False,
        description="Bring the database (HEED_DATABASE_URL, else $HEED_DATA_DIR/heed.sqlite3) "
        "to this Heed's schema. Stop every replica and back the database up first.",
    )
    _env_file_flag(parser)
    args = parser.parse_args(argv)
    load_env(args.env_file)
    from bot.database import Database, DatabaseError

    try:
        url = database_url_from_env(os.environ)
    except SettingsError as exc:
        return _fail(str(exc))
    try:
        with Database(url, migrate=True) as db:
            sys.stdout.write(db.migration.describe(db.where) + "\n")
    except DatabaseError as exc:
        return _fail(str(exc))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["migrate"]:
        return _migrate(argv[1:])
    args = _parser().parse_args(argv)
    load_env(args.env_file)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        return _fail(str(exc))
    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535, got {args.port}")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models load from local files only
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from bot.logs import configure_logging, quiet_transformers

    configure_logging(settings.log_level, settings.secrets(), settings.log_format)
    from bot.preflight import StartupError, preflight

    try:
        db = preflight(settings, train_default=args.train_default)
        # torch and transformers (5 CPU-seconds of imports) only once those checks passed: a bad
        # set-up (no model, a broken database, a rejected token) fails in 0.8 CPU-seconds, not 6
        quiet_transformers()
        from bot.runtime import serve

        serve(settings, db, host=args.host, port=args.port)
    except StartupError as exc:
        return _fail(str(exc), exc.code)
    return 0


if __name__ == "__main__":
    exit_now(main())
