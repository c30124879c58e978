"""Cut the bundled sample dataset ``training/sample/vader_amazon.csv`` from VADER's Amazon set.

The source is the VADER ground truth for Amazon product-review snippets (Hutto & Gilbert
2014; see ``training/sample/CITATION.md``), read from ``DIR/vader_amazon/amazon_reviews.csv`` in
the datasets folder given by ``--datasets DIR`` (or ``$HEED_DATASETS``; layout in
benchmarks/README.md), or from ``--source FILE``: ``text,label,mean_rating`` with ``label``
already derived from the raters' mean.

The slice is deterministic for a given ``--source``, ``--rows`` and ``--seed``:

1. read the source (UTF-8, BOM tolerated); strip texts; drop empty texts and labels;
2. drop exact duplicate texts (the first copy is kept; a text seen with different labels
   is dropped altogether);
3. sample each label in proportion to its share of what is left (largest-remainder
   rounding, so the counts add up to ``--rows`` exactly), with ``random.Random(seed)``;
4. shuffle the rows with the same generator and write ``text,label`` (UTF-8, no BOM,
   ``\\n`` line ends, minimal CSV quoting).

Usage (from the project root)::

    python benchmarks/make_sample.py --datasets DIR       # the committed sample
    python benchmarks/make_sample.py --datasets DIR --rows 600 --out /tmp/small.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

try:  # run as `python benchmarks/make_sample.py` or imported as `benchmarks.make_sample`
    from _common import add_datasets_option, datasets_dir
except ImportError:  # pragma: no cover
    from benchmarks._common import add_datasets_option, datasets_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_IN_DATASETS = "vader_amazon/amazon_reviews.csv"
DEFAULT_OUT = "training/sample/vader_amazon.csv"
DEFAULT_ROWS = 3696  # every distinct snippet
DEFAULT_SEED = 20140601

Row = tuple[str, str]  # (text, label)


def resolve(path: str | Path) -> Path:
    """``path`` as given if it exists (or is absolute), else relative to the project root."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    return REPO_ROOT / p


def read_rows(path: Path, text_column: str = "text", label_column: str = "label") -> list[Row]:
    """(text, label) pairs of a CSV with a header; stripped, empty ones dropped."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = {name.lower(): name for name in reader.fieldnames or []}
        missing = [c for c in (text_column, label_column) if c.lower() not in fields]
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(missing)}")
        t, lab = fields[text_column.lower()], fields[label_column.lower()]
        rows = [((r[t] or "").strip(), (r[lab] or "").strip()) for r in reader]
    return [(text, label) for text, label in rows if text and label]


def dedupe(rows: Iterable[Row]) -> list[Row]:
    """First copy of each text; texts that occur with more than one label are dropped."""
    labels: dict[str, set[str]] = defaultdict(set)
    rows = list(rows)
    for text, label in rows:
        labels[text].add(label)
    seen: set[str] = set()
    out: list[Row] = []
    for text, label in rows:
        if text in seen or len(labels[text]) > 1:
            continue
        seen.add(text)
        out.append((text, label))
    return out


def allocate(counts: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` over labels in proportion to ``counts`` (largest remainder)."""
    available = sum(counts.values())
    if total > available:
        raise SystemExit(f"asked for {total} rows but only {available} are available")
    exact = {label: total * n / available for label, n in counts.items()}
    quota = {label: int(x) for label, x in exact.items()}
    short = total - sum(quota.values())
    # Ties broken by label name, so the result does not depend on input order.
    for label in sorted(exact, key=lambda k: (-(exact[k] - quota[k]), k))[:short]:
        quota[label] += 1
    return quota


def stratified_sample(rows: Sequence[Row], quota: dict[str, int], rng: random.Random) -> list[Row]:
    """``quota[label]`` rows of each label, drawn without replacement, then shuffled."""
    by_label: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    picked: list[Row] = []
    for label in sorted(quota):
        pool = by_label.get(label, [])
        if quota[label] > len(pool):
            raise SystemExit(f"label {label!r}: need {quota[label]} rows, have {len(pool)}")
        picked.extend(rng.sample(pool, quota[label]))
    rng.shuffle(picked)
    return picked


def write_rows(path: Path, rows: Iterable[Row]) -> None:
    """Write ``text,label`` CSV (UTF-8, ``\\n`` line ends, minimal quoting)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    tmp.replace(path)


def summary(path: Path, rows: Sequence[Row]) -> str:
    """One line: where, how many, per label."""
    counts = Counter(label for _, label in rows)
    per_label = ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
    return f"{path}: {len(rows)} rows ({per_label})"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    add_datasets_option(parser)
    parser.add_argument(
        "--source",
        metavar="FILE",
        default=None,
        help=f"VADER amazon_reviews.csv itself (instead of DIR/{SOURCE_IN_DATASETS})",
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the sample")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out", default=None, help=f"output CSV (default: {DEFAULT_OUT} in the project root)"
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")

    if args.source:
        source = resolve(args.source)
        if not source.is_file():
            parser.error(f"--source {args.source}: no such file ({source})")
    else:
        datasets = datasets_dir(parser, args.datasets, [SOURCE_IN_DATASETS], "--source FILE")
        source = datasets / SOURCE_IN_DATASETS
    out = Path(args.out) if args.out else REPO_ROOT / DEFAULT_OUT

    rows = dedupe(read_rows(source))
    quota = allocate(dict(Counter(label for _, label in rows)), args.rows)
    sample = stratified_sample(rows, quota, random.Random(args.seed))
    write_rows(out, sample)
    print(summary(out, sample))
    return 0


if __name__ == "__main__":
    sys.exit(main())
