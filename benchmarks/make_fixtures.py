"""Cut the small banking77 fixtures for integration tests (``tests/data/``).

From banking77 (Casanueva et al. 2020, PolyAI; CC BY 4.0; columns ``text,category``), read
from ``DIR/banking77/{train,test}.csv`` in the datasets folder given by ``--datasets DIR`` (or
``$HEED_DATASETS``; layout in benchmarks/README.md) or from ``--source-dir``, this keeps five
clearly distinct intents and writes ``text,label``:

* ``tests/data/banking_small.csv`` — ``--train-rows`` rows per intent from ``train.csv``;
* ``tests/data/banking_small_eval.csv`` — ``--eval-rows`` rows per intent from ``test.csv``,
  none of whose texts (compared case- and space-insensitively) is in the first file.

Each file's rows are drawn per intent with ``random.Random(seed)`` and shuffled, so the
output is the same for the same arguments. Usage (from the project root)::

    python benchmarks/make_fixtures.py --datasets DIR
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

try:  # run as `python benchmarks/make_fixtures.py` or imported as `benchmarks.make_fixtures`
    from _common import add_datasets_option, datasets_dir
    from make_sample import REPO_ROOT, Row, read_rows, resolve, summary, write_rows
except ImportError:  # pragma: no cover
    from benchmarks._common import add_datasets_option, datasets_dir
    from benchmarks.make_sample import REPO_ROOT, Row, read_rows, resolve, summary, write_rows

SOURCE_FILES = ("banking77/train.csv", "banking77/test.csv")
INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed", "pin_blocked")
DEFAULT_SEED = 77


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def pick(
    rows: Sequence[Row],
    intents: Sequence[str],
    per_intent: int,
    rng: random.Random,
    exclude: set[str] | None = None,
) -> list[Row]:
    """``per_intent`` distinct rows of each intent (none whose text is in ``exclude``)."""
    exclude = set(exclude or ())
    picked: list[Row] = []
    for intent in intents:
        pool: list[Row] = []
        seen: set[str] = set()
        for text, label in rows:
            key = _key(text)
            if label == intent and key not in exclude and key not in seen:
                seen.add(key)
                pool.append((text, label))
        if len(pool) < per_intent:
            raise SystemExit(f"intent {intent!r}: need {per_intent} rows, have {len(pool)}")
        picked.extend(rng.sample(pool, per_intent))
    rng.shuffle(picked)
    return picked


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    add_datasets_option(parser)
    parser.add_argument(
        "--source-dir",
        metavar="DIR",
        default=None,
        help="the banking77 folder itself, with train.csv and test.csv (instead of --datasets)",
    )
    parser.add_argument("--intents", nargs="+", default=list(INTENTS), help="intents to keep")
    parser.add_argument("--train-rows", type=int, default=60, help="rows per intent (train)")
    parser.add_argument("--eval-rows", type=int, default=30, help="rows per intent (eval)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out-dir", default=None, help="output folder (default: tests/data in the project root)"
    )
    args = parser.parse_args(argv)

    if args.source_dir:
        source = resolve(args.source_dir)
    else:
        source = datasets_dir(parser, args.datasets, SOURCE_FILES, "--source-dir DIR") / "banking77"
    out_dir = Path(args.out_dir) if args.out_dir else REPO_ROOT / "tests" / "data"
    train_src, test_src = source / "train.csv", source / "test.csv"
    for path in (train_src, test_src):
        if not path.is_file():
            parser.error(f"source not found: {path}")

    rng = random.Random(args.seed)
    train = pick(read_rows(train_src, "text", "category"), args.intents, args.train_rows, rng)
    taken = {_key(text) for text, _ in train}
    test_rows = read_rows(test_src, "text", "category")
    held_out = pick(test_rows, args.intents, args.eval_rows, rng, exclude=taken)

    train_out = out_dir / "banking_small.csv"
    eval_out = out_dir / "banking_small_eval.csv"
    write_rows(train_out, train)
    write_rows(eval_out, held_out)
    print(f"{summary(train_out, train)}; {summary(eval_out, held_out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
