"""Labelled exports (CSV, TSV, JSONL): read, validate, and split as a training run would.

Every problem is a :class:`Problem` (shown as ``FILE:LINE: reason``) and problems are collected
across all files, so one run shows the user everything to fix before any training starts (the
message shows the first 20; :attr:`DataError.problems` holds them all).

Standard library only: the bot's retrain preview calls :func:`check_rows` in-process (it never
imports ``training``, and counting rows must not load torch), and ``python -m training check``
and ``train`` read the same rows through it.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_REPORTED_ERRORS = 20
EVAL_FRACTION = 0.2
DEFAULT_SEED = 42
"""The seed of a training run (its split, shuffling and initialisation) unless told otherwise."""
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Example:
    """One labelled text and where it came from (``file:line``)."""

    text: str
    label: str
    source: str = ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, where it is: shown as ``FILE:LINE: reason``."""

    file: str
    line: int
    reason: str

    @classmethod
    def at(cls, source: str, reason: str) -> Problem:
        """A problem at an :attr:`Example.source` (``FILE:LINE``)."""
        file, _, line = source.rpartition(":")
        if not file or not line.isdigit():
            return cls(source, 0, reason)
        return cls(file, int(line), reason)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class DataError(ValueError):
    """Invalid training input; ``problems`` holds every :class:`Problem` found.

    ``str()`` is the first 20 as ``FILE:LINE: reason`` lines, then "... and N more problems".
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_REPORTED_ERRORS]]
        more = len(self.problems) - len(shown)
        lines = shown + ([f"... and {more} more problems"] if more > 0 else [])
        super().__init__("\n".join(lines))


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the export as UTF-8"
        raise DataError([Problem(str(path), line, reason)]) from exc


def _find_column(header: list[str], wanted: str) -> int | None:
    folded = [h.strip().lower() for h in header]
    return folded.index(wanted.lower()) if wanted.lower() in folded else None


def _read_delimited(
    path: Path, text: str, delimiter: str, text_column: str, label_column: str
) -> tuple[list[Example], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [
            Problem(
                str(path),
                1,
                f"empty file (expected a header with '{text_column}' and '{label_column}')",
            )
        ]
    except csv.Error as exc:
        return [], [Problem(str(path), 1, f"unreadable header: {exc}")]
    columns = {name: _find_column(header, name) for name in (text_column, label_column)}
    missing = [name for name, index in columns.items() if index is None]
    if missing:
        found = ", ".join(h.strip() for h in header) or "nothing"
        return [], [
            Problem(
                str(path),
                1,
                f"missing column {', '.join(repr(m) for m in missing)} (found: {found})",
            )
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
            problems.append(Problem(str(path), start, f"malformed row: {exc}"))
            break
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) <= max(text_at, label_at):
            problems.append(
                Problem(str(path), start, f"expected {len(header)} fields, found {len(row)}")
            )
            continue
        problems.extend(_check(examples, path, start, row[text_at], row[label_at]))
    return examples, problems


def _check(
    examples: list[Example], path: Path, line: int, text: object, label: object
) -> list[Problem]:
    if isinstance(label, bool) or not isinstance(label, str | int):
        return [Problem(str(path), line, f"label must be a string or an integer, got {label!r}")]
    if not isinstance(text, str):
        return [Problem(str(path), line, f"text must be a string, got {type(text).__name__}")]
    label = str(label).strip()
    if not text.strip():
        return [Problem(str(path), line, "empty text")]
    if not label:
        return [Problem(str(path), line, "empty label")]
    examples.append(Example(text.strip(), label, f"{path}:{line}"))
    return []


def _read_jsonl(
    path: Path, text: str, text_column: str, label_column: str
) -> tuple[list[Example], list[Problem]]:
    examples: list[Example] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            problems.append(
                Problem(str(path), number, f"expected a JSON object, got {type(obj).__name__}")
            )
            continue
        missing = [key for key in (text_column, label_column) if key not in obj]
        if missing:
            problems.append(
                Problem(str(path), number, f"missing key {', '.join(repr(m) for m in missing)}")
            )
            continue
        problems.extend(_check(examples, path, number, obj[text_column], obj[label_column]))
    if not examples and not problems:
        problems.append(
            Problem(
                str(path),
                1,
                f"empty file (expected JSON lines with '{text_column}' and '{label_column}')",
            )
        )
    return examples, problems


def read_export(
    path: Path | str, text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """Read one export; raises :class:`DataError` listing every bad row."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            [Problem(str(path), 1, f"unknown format {path.suffix!r}: use .csv, .tsv or .jsonl")]
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError([Problem(str(path), 1, f"cannot read: {exc.strerror or exc}")]) from exc
    text = _decode(path, raw)
    if fmt == "jsonl":
        examples, problems = _read_jsonl(path, text, text_column, label_column)
    else:
        delimiter = "\t" if fmt == "tsv" else ","
        examples, problems = _read_delimited(path, text, delimiter, text_column, label_column)
    if problems:
        raise DataError(problems)
    if not examples:
        raise DataError([Problem(str(path), 2, "no labelled rows after the header")])
    return examples


def read_exports(
    paths: Sequence[Path | str], text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """Read several exports; problems from all files are reported together."""
    examples: list[Example] = []
    problems: list[Problem] = []
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
        Problem.at(
            first_seen[label], f"label {label!r} has {count} example(s); need at least {minimum}"
        )
        for label, count in sorted(counts.items())
        if count < minimum
    ]
    if len(counts) < 2:
        source = examples[0].source if examples else "input:1"
        problems.append(
            Problem.at(source, f"need at least 2 different labels, found {len(counts)}")
        )
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


def apply_overrides(
    rows: Sequence[Example], overrides: Sequence[Example]
) -> tuple[list[Example], list[Example]]:
    """``rows`` with the label of each row whose text an override has replaced by the
    override's (the row keeps its place and its ``file:line``; the newest override of a text
    wins), and the overrides that matched no row."""
    by_text = {row.text: row.label for row in overrides}
    changed = [
        Example(row.text, by_text[row.text], row.source) if row.text in by_text else row
        for row in rows
    ]
    seen = {row.text for row in rows}
    unmatched = {row.text: row for row in overrides if row.text not in seen}
    return changed, list(unmatched.values())


def load_rows(
    data: Sequence[Path],
    eval_data: Sequence[Path] | None,
    *,
    seed: int,
    train_only: Sequence[Path] | None = None,
    overrides: Sequence[Path] | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> tuple[list[Example], list[Example]]:
    """Read and validate the exports; split off a stratified eval set from ``data`` when no
    ``eval_data`` is given. ``train_only`` rows are added to the training rows and never to
    the eval rows, so a model is never judged on them (e.g. unreviewed corrections).
    ``overrides`` (reviewed labels, e.g. a suspect an admin changed) relabel the ``data`` and
    ``train_only`` rows with the same text; one that matches none is learnt as a train-only
    row."""
    paths = [*data, *(train_only or [])]
    everything = read_exports(paths, text_column, label_column)
    reviewed = read_exports(overrides, text_column, label_column) if overrides else []
    everything, unmatched = apply_overrides(everything, reviewed)
    extra_sources = {str(p) for p in train_only or []}
    extra = [r for r in everything if r.source.rpartition(":")[0] in extra_sources] + unmatched
    rows = [r for r in everything if r.source.rpartition(":")[0] not in extra_sources]
    if eval_data:
        return [*rows, *extra], read_exports(eval_data, text_column, label_column)
    train_rows, eval_rows = stratified_split(rows, EVAL_FRACTION, seed)
    return [*train_rows, *extra], eval_rows


def eval_split(eval_data: Sequence[Path] | None, seed: int) -> str:
    """How the eval rows were chosen, for ``heed.json`` and the result: ``given`` (they came
    from ``--eval-data``) or the stratified split of ``--data``."""
    return "given" if eval_data else f"stratified {EVAL_FRACTION:.0%} of --data (seed {seed})"


@dataclass(frozen=True)
class FileRows:
    """One export as a run would use it: its ``role`` (``train``, ``train-only`` or ``eval``)
    and its rows per label."""

    path: str
    role: str
    labels: dict[str, int]

    @property
    def rows(self) -> int:
        """All its rows."""
        return sum(self.labels.values())


@dataclass(frozen=True)
class RowsReport:
    """What a run would learn from and be judged on (:func:`check_rows`)."""

    train_rows: int
    eval_rows: int
    train_labels: dict[str, int]
    eval_labels: dict[str, int]
    files: tuple[FileRows, ...]
    eval_split: str

    def to_json(self) -> dict[str, Any]:
        """The report as ``python -m training check --json`` prints it."""
        return {
            "rows": {"train": self.train_rows, "eval": self.eval_rows},
            "label_counts": {"train": self.train_labels, "eval": self.eval_labels},
            "files": [
                {"path": f.path, "role": f.role, "rows": f.rows, "labels": f.labels}
                for f in self.files
            ],
            "eval_split": self.eval_split,
        }


def check_rows(
    data: Sequence[Path],
    eval_data: Sequence[Path] | None,
    *,
    seed: int = DEFAULT_SEED,
    train_only: Sequence[Path] | None = None,
    overrides: Sequence[Path] | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> RowsReport:
    """What ``train`` would learn from and be judged on, without training: rows and rows per
    label for each role and each file (an override that relabels an export row counts in the
    export's file). Raises :class:`DataError` like ``train``."""
    train_rows, eval_rows = load_rows(
        data,
        eval_data,
        seed=seed,
        train_only=train_only,
        overrides=overrides,
        text_column=text_column,
        label_column=label_column,
    )
    per_file: dict[str, Counter[str]] = {}
    for row in [*train_rows, *eval_rows]:
        per_file.setdefault(row.source.rpartition(":")[0], Counter())[row.label] += 1
    roles = (
        ("train", data),
        ("train-only", train_only or []),
        ("overrides", overrides or []),
        ("eval", eval_data or []),
    )
    return RowsReport(
        train_rows=len(train_rows),
        eval_rows=len(eval_rows),
        train_labels=dict(sorted(Counter(r.label for r in train_rows).items())),
        eval_labels=dict(sorted(Counter(r.label for r in eval_rows).items())),
        files=tuple(
            FileRows(str(path), role, dict(sorted(per_file.get(str(path), Counter()).items())))
            for role, paths in roles
            for path in paths
        ),
        eval_split=eval_split(eval_data, seed),
    )
