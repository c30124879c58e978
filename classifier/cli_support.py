"""Shared plumbing for the command-line entry points: ``.env``, the variables every entry point
shares (the one place below them that reads the environment), logging, quiet libraries, JSON
output."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from classifier.store import DEFAULT_ROOT, MODEL_DIR_ENV

ENV_FILE_ENV = "HEED_ENV_FILE"
DEFAULT_ENV_FILE = Path(".env")
SLACK_PREFIX = "SLACK_"
BASE_MODEL_ENV = "HEED_BASE_MODEL"
DEVICE_ENV = "HEED_DEVICE"
THREADS_ENV = "HEED_TORCH_THREADS"


def env_file(path: Path | str | None = None) -> Path:
    """The ``.env`` file to read: ``path``, else ``$HEED_ENV_FILE``, else ``./.env``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_FILE_ENV) or DEFAULT_ENV_FILE)


def load_env(path: Path | str | None = None, *, skip_prefixes: Sequence[str] = ()) -> Path | None:
    """Read a ``.env`` file into ``os.environ``; the environment wins (a variable already set,
    even to an empty value, is kept), as with python-dotenv's ``override=False``.

    ``path`` defaults to ``$HEED_ENV_FILE``, else ``./.env``; a missing file is no error.
    Variables named with one of ``skip_prefixes`` are not taken (the CLIs skip ``SLACK_``:
    they never need Slack credentials, and the bot's retrain child must run without them).
    Returns the file read, or None.
    """
    from dotenv import dotenv_values

    chosen = env_file(path)
    if not chosen.is_file():
        return None
    for name, value in dotenv_values(chosen).items():
        if value is None or name in os.environ or name.startswith(tuple(skip_prefixes)):
            continue
        os.environ[name] = value
    return chosen


def model_dir() -> Path:
    """The model store root: ``$HEED_MODEL_DIR``, else ``./models``."""
    return Path(os.environ.get(MODEL_DIR_ENV) or DEFAULT_ROOT)


def base_model() -> str | None:
    """``$HEED_BASE_MODEL`` (None: the embedded default)."""
    return os.environ.get(BASE_MODEL_ENV) or None


def device() -> str | None:
    """``$HEED_DEVICE`` (None: ``auto``)."""
    return os.environ.get(DEVICE_ENV) or None


def torch_threads() -> int:
    """``$HEED_TORCH_THREADS`` (0: torch's default, one per core)."""
    return int(os.environ.get(THREADS_ENV) or 0)


def configure() -> None:
    """Read ``.env`` (:func:`load_env`, without Slack credentials) and log to stderr."""
    load_env(skip_prefixes=(SLACK_PREFIX,))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def configure_torch() -> None:
    """Silence transformers' progress bars and load reports, set torch's threads. Apart from
    :func:`configure`: the commands that only read the store would pay 4 CPU-seconds of
    imports for it."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    from classifier.device import configure_threads

    configure_threads(torch_threads())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once logging and the standard streams are flushed, without
    the interpreter's teardown: with torch and transformers loaded it takes 1.1-1.7 CPU-seconds
    (measured) to free memory the OS takes back at once. For an entry point whose ``main()``
    returned, everything it opened closed."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def emit(result: dict, as_json: bool, human: str) -> None:
    """Print ``human`` text, or ``result`` as one JSON line when ``as_json`` (the CLI contract)."""
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(human.rstrip("\n") + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> int:
    """Write a one-line (or multi-line) error to stderr and return the exit code."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    return code
