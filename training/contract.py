"""How every ``python -m training train|evaluate|suspects`` run ends: kinds, exit codes, JSON.

With ``--json`` the last line on stdout is one JSON object, whatever happened:

* success: the command's result plus ``"ok": true``;
* failure: ``{"ok": false, "error": {"kind": KIND, "message": LINE, "problems": [...]}}``,
  where ``problems`` lists every ``{"file", "line", "reason"}`` of a ``data`` failure (and is
  empty for the other kinds) and ``message`` is one line for a person.

Without ``--json`` the same failures are text on stderr (``error: ...``; a data failure lists
``FILE:LINE: reason`` lines, the first 20). The exit code is the same either way:

===============  ====  =======================================================================
kind             exit  when
===============  ====  =======================================================================
(success)        0
``internal``     1     anything unexpected (the traceback is logged to stderr, never in JSON)
``data``         2     a malformed export: missing column, bad UTF-8, empty text or label,
                       too few examples per label, an eval label never seen in training ...
``base_model``   3     the base model is missing or cannot be loaded offline (``--base
                       current`` with nothing serving, the embedded base package missing)
``device``       4     ``--device`` unknown or CUDA unavailable; CUDA out of memory
``model``        5     ``evaluate --model`` names nothing loadable
``usage``        64    invalid arguments (an unknown flag, a missing ``--data``, ``--epochs 0``)
``interrupted``  130   SIGINT or SIGTERM; no half-written model version is left behind
===============  ====  =======================================================================

Progress (``--progress jsonl``) stays JSON lines on stderr. The contract is written out in
``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from classifier.base_model import BaseModelError
from classifier.exports import DataError, Problem
from classifier.store import ModelNotFoundError

log = logging.getLogger(__name__)

INTERNAL = "internal"
DATA = "data"
BASE_MODEL = "base_model"
DEVICE = "device"
MODEL = "model"
USAGE = "usage"
INTERRUPTED = "interrupted"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_DATA = 2
EXIT_BASE_MODEL = 3
EXIT_DEVICE = 4
EXIT_MODEL = 5
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    INTERNAL: EXIT_INTERNAL,
    DATA: EXIT_DATA,
    BASE_MODEL: EXIT_BASE_MODEL,
    DEVICE: EXIT_DEVICE,
    MODEL: EXIT_MODEL,
    USAGE: EXIT_USAGE,
    INTERRUPTED: EXIT_INTERRUPTED,
}

DATA_HEADER = "error: invalid training data, nothing was written:"
INTERRUPTED_MESSAGE = "interrupted: no model version was written"


class UsageError(ValueError):
    """Invalid command-line arguments; ``usage`` and ``prog`` come from the parser, if any."""

    def __init__(self, message: str, usage: str = "", prog: str = "") -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog


class DeviceError(ValueError):
    """The requested device cannot be used."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled exactly like Ctrl-C."""


class InterruptedAfterWrite(KeyboardInterrupt):
    """Interrupted after ``version`` was published (while comparing or promoting it)."""

    def __init__(self, version: str, serving: bool) -> None:
        super().__init__(version)
        self.version = version
        self.serving = serving


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises :class:`UsageError` instead of printing and exiting.

    Long options must be spelled out (``allow_abbrev=False``), so ``--epoch`` is an error,
    not ``--epochs``. Sub-parsers made by ``add_subparsers`` inherit both.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage(), self.prog)


@dataclass(frozen=True)
class Failure:
    """A run that did not produce its result: what the JSON line and the exit code say."""

    kind: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    human: str = ""

    @property
    def exit_code(self) -> int:
        """The process exit code for this kind."""
        return EXIT_CODES[self.kind]

    def to_json(self) -> dict:
        """The ``{"ok": false, "error": ...}`` object."""
        return failure(self.kind, self.message, self.problems)


def success(result: dict) -> dict:
    """The ``--json`` line of a successful run: ``result`` with ``"ok": true`` first."""
    return {"ok": True, **result}


def failure(kind: str, message: str, problems: Sequence[Problem] = ()) -> dict:
    """The ``--json`` line of a failed run."""
    if kind not in EXIT_CODES:
        raise ValueError(f"unknown failure kind {kind!r}")
    return {
        "ok": False,
        "error": {
            "kind": kind,
            "message": one_line(message),
            "problems": [{"file": p.file, "line": p.line, "reason": p.reason} for p in problems],
        },
    }


def one_line(text: str) -> str:
    """``text`` on one line (JSON messages are): lines joined by a space after a sentence's
    end, else by "; "."""
    out = ""
    for line in (raw.strip() for raw in str(text).splitlines()):
        if line:
            out += ("" if not out else " " if out[-1] in ".:;!?" else "; ") + line
    return out


def _is_cuda_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")  # never imported just to look
    return torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError)


def classify(exc: BaseException, command: str = "train") -> Failure:
    """Map an exception raised by ``command`` to its :class:`Failure` (kind, message, problems).

    Unexpected exceptions become ``internal``; their traceback is logged here.
    """
    if isinstance(exc, InterruptedAfterWrite):
        state = "now serving" if exc.serving else "not promoted"
        message = f"interrupted after writing model version {exc.version} ({state})"
        return Failure(INTERRUPTED, message, human=message)
    if isinstance(exc, KeyboardInterrupt):
        stopped = {
            "train": INTERRUPTED_MESSAGE,
            "suspects": "interrupted: the suspects run stopped",
        }
        message = stopped.get(command, "interrupted: evaluation stopped")
        return Failure(INTERRUPTED, message, human=message)
    if isinstance(exc, DataError):
        n = len(exc.problems)
        what = "evaluation" if command == "evaluate" else "training"
        message = f"invalid {what} data ({n} problem{'s' * (n != 1)}); nothing was written"
        return Failure(DATA, message, list(exc.problems), human=f"{DATA_HEADER}\n{exc}")
    if isinstance(exc, UsageError):
        # A parser error reads as argparse prints it: the usage, then "PROG: error: ...".
        human = f"{exc.usage}{exc.prog}: error: {exc}" if exc.usage else f"error: {exc}"
        return Failure(USAGE, one_line(str(exc)), human=human)
    for error_type, kind in (
        (DeviceError, DEVICE),
        (BaseModelError, BASE_MODEL),
        (ModelNotFoundError, MODEL),
    ):
        if isinstance(exc, error_type):
            return Failure(kind, one_line(str(exc)), human=f"error: {exc}")
    if _is_cuda_oom(exc):
        message = f"CUDA out of memory: {one_line(str(exc))}"
        return Failure(DEVICE, message, human=f"error: {message}")
    log.error("%s failed", command, exc_info=exc)
    message = one_line(f"internal error: {type(exc).__name__}: {exc}")
    return Failure(INTERNAL, message, human=f"error: {message}")


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the main
    thread, so ``finally`` blocks run and no staging directory is left, and SIGINT raises
    ``KeyboardInterrupt`` even in a process started with SIGINT ignored (anything launched in
    the background by a shell, ``nohup … &``), which would otherwise outlive a cancel and the
    stdin watchdog. Outside the main thread this does nothing (signals can only be handled
    there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
