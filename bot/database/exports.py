"""Labelled rows written out, atomically and 0600: JSONL for training (texts exact), CSV for
people (formula cells prefixed with ``'``, so never train on it)."""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"):
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

Rows = Sequence[tuple[str, str]]
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def neutralise(cell: str) -> str:
    """``cell`` shown as text by a spreadsheet: prefixed with ``'`` when it starts a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def write_jsonl(handle: IO[str], rows: Rows) -> int:
    """Write ``rows`` as JSONL to an open text buffer (texts exact, escaping only what a line
    splitter takes for a line break); returns how many."""
    for text, label in rows:
        line = json.dumps({"text": text, "label": label}, ensure_ascii=False)
        handle.write(line.translate(_LINE_BREAKS) + "\n")
    return len(rows)


def write_people_csv(handle: IO[str], rows: Rows) -> int:
    """Write ``rows`` as a ``text,label`` CSV with formula cells neutralised; returns how many.
    Lines end in CRLF (RFC 4180), so a cell holding a lone CR or LF is always quoted."""
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(("text", "label"))
    writer.writerows((neutralise(text), neutralise(label)) for text, label in rows)
    return len(rows)


def write_private(path: Path, write: Callable[[IO[str]], int]) -> int:
    """``write`` a new file at ``path``: created 0600 (folder 0700 if new), replaced atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            n = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
