"""Stop training when the process that started it dies.

The bot starts ``python -m training train --stop-when-stdin-closes`` with a pipe on its standard
input and never writes to it. When the bot dies — even by SIGKILL, when no handler of its runs —
the kernel closes that pipe, the read below returns end-of-file, and the training process
interrupts itself exactly as Ctrl-C would: no half-written version, no promotion, and the typed
``interrupted`` outcome as its last line.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)


def _watch(fd: int) -> None:
    # os.read on the bare descriptor: a daemon thread blocked in sys.stdin's buffered reader
    # would make the interpreter abort at exit (it cannot take that reader's lock).
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    log.warning("standard input closed (the process that started training is gone): stopping")
    signal.raise_signal(signal.SIGINT)


def stop_when_stdin_closes(fd: int = 0) -> threading.Thread:
    """Start a daemon thread that sends this process SIGINT once the file descriptor ``fd``
    (default: standard input) reaches end-of-file; returns the thread."""
    thread = threading.Thread(target=_watch, args=(fd,), name="stdin-watchdog", daemon=True)
    thread.start()
    return thread
