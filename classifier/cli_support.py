"""Shared plumbing for the command-line entry points: logging, quiet libraries, JSON output."""

from __future__ import annotations

import json
import logging
import os
import sys


def configure() -> None:
    """Log to stderr and silence third-party progress bars and load reports."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    from classifier.model import configure_threads

    configure_threads()


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
