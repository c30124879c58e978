"""Read and validate labelled exports (CSV, TSV, JSONL) into examples.

Every problem is reported as ``FILE:LINE: reason`` and collected across all files, so one run
shows the user everything to fix (the first 20 problems) before any training starts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_REPORTED_ERRORS = 20
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Example:
    """One labelled text and where it came from (``file:line``)."""

    text: str
    label: str
    source: str = ""


class DataError(ValueError):
    """Invalid training input; ``problems`` holds ``FILE:LINE: reason`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED_ERRORS]
        more = len(self.problems) - len(shown)
        lines = shown + ([f"... and {more} more problems"] if more > 0 else [])
        super().__init__("\n".join(lines))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (recorded in heed.json for provenance)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            [
                f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                "save the export as UTF-8"
            ]
        ) from exc


def _find_column(header: list[str], wanted: str) -> int | None:
    folded = [h.strip().lower() for h in header]
    return folded.index(wanted.lower()) if wanted.lower() in folded else None


def _read_delimited(
    path: Path, text: str, delimiter: str, text_column: str, label_column: str
) -> tuple[list[Example], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [
            f"{path}:1: empty file (expected a header with '{text_column}' and '{label_column}')"
        ]
    except csv.Error as exc:
        return [], [f"{path}:1: unreadable header: {exc}"]
    columns = {name: _find_column(header, name) for name in (text_column, label_column)}
    missing = [name for name, index in columns.items() if index is None]
    if missing:
        found = ", ".join(h.strip() for h in header) or "nothing"
        return [], [
            f"{path}:1: missing column {', '.join(repr(m) for m in missing)} (found: {found})"
        ]
    text_at, label_at = columns[text_column], columns[label_column]
    examples, problems = [], []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{path}:{start}: malformed row: {exc}")
            break
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) <= max(text_at, label_at):
            problems.append(f"{path}:{start}: expected {len(header)} fields, found {len(row)}")
            continue
        problems.extend(_check(examples, path, start, row[text_at], row[label_at]))
    return examples, problems


def _check(
    examples: list[Example], path: Path, line: int, text: object, label: object
) -> list[str]:
    if isinstance(label, bool) or not isinstance(label, str | int):
        return [f"{path}:{line}: label must be a string or an integer, got {label!r}"]
    if not isinstance(text, str):
        return [f"{path}:{line}: text must be a string, got {type(text).__name__}"]
    label = str(label).strip()
    if not text.strip():
        return [f"{path}:{line}: empty text"]
    if not label:
        return [f"{path}:{line}: empty label"]
    examples.append(Example(text.strip(), label, f"{path}:{line}"))
    return []


def _read_jsonl(
    path: Path, text: str, text_column: str, label_column: str
) -> tuple[list[Example], list[str]]:
    examples: list[Example] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
            continue
        missing = [key for key in (text_column, label_column) if key not in obj]
        if missing:
            problems.append(f"{path}:{number}: missing key {', '.join(repr(m) for m in missing)}")
            continue
        problems.extend(_check(examples, path, number, obj[text_column], obj[label_column]))
    if not examples and not problems:
        problems.append(
            f"{path}:1: empty file (expected JSON lines with '{text_column}' and '{label_column}')"
        )
    return examples, problems


def read_export(
    path: Path | str, text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """Read one export; raises :class:`DataError` listing every bad row."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError([f"{path}:1: unknown format {path.suffix!r}: use .csv, .tsv or .jsonl"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError([f"{path}:1: cannot read: {exc.strerror or exc}"]) from exc
    text = _decode(path, raw)
    if fmt == "jsonl":
        examples, problems = _read_jsonl(path, text, text_column, label_column)
    else:
        delimiter = "\t" if fmt == "tsv" else ","
        examples, problems = _read_delimited(path, text, delimiter, text_column, label_column)
    if problems:
        raise DataError(problems)
    if not examples:
        raise DataError([f"{path}:2: no labelled rows after the header"])
    return examples


def read_exports(
    paths: Sequence[Path | str], text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """Read several exports; problems from all files are reported together."""
    examples: list[Example] = []
    problems: list[str] = []
    for path in paths:
        try:
            examples.extend(read_export(path, text_column, label_column))
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    return examples


def check_labels(examples: Sequence[Example], *, minimum: int) -> None:
    """Every label needs ``minimum`` examples (2 to split), and at least two labels overall."""
    counts = Counter(e.label for e in examples)
    first_seen = {}
    for example in examples:
        first_seen.setdefault(example.label, example.source)
    problems = [
        f"{first_seen[label]}: label {label!r} has {count} example(s); need at least {minimum}"
        for label, count in sorted(counts.items())
        if count < minimum
    ]
    if len(counts) < 2:
        source = examples[0].source if examples else "input:1"
        problems.append(f"{source}: need at least 2 different labels, found {len(counts)}")
    if problems:
        raise DataError(problems)


def stratified_split(
    examples: Sequence[Example], eval_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split keeping each label's proportion; every label gets at least one eval row."""
    check_labels(examples, minimum=2)
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    train, evaluation = [], []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        n_eval = min(max(1, round(len(rows) * eval_fraction)), len(rows) - 1)
        evaluation.extend(rows[:n_eval])
        train.extend(rows[n_eval:])
    rng.shuffle(train)
    return train, evaluation
