"""Helpers shared by the benchmark scripts: hardware record, JSON output, tables, timing.

Not a benchmark itself. Every script puts the project root on ``sys.path`` (so it runs as
``python benchmarks/NAME.py`` from anywhere) and records the machine it ran on next to its
numbers, because the machines these run on are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DATASETS_ENV = "HEED_DATASETS"
# Host paths a result names, written as placeholders: the JSON in results/ is a record of what
# ran, and must not point at one machine's folders (datasets_dir() adds the datasets folder).
_HOST_PATHS: dict[str, str] = {}
# What the scripts open inside the datasets folder, per task (layout: benchmarks/README.md).
DATASET_FILES = {
    "sst2": ("sst2/train.tsv", "sst2/dev.tsv"),
    "banking77": ("banking77/train.csv", "banking77/test.csv"),
    "vader": ("vader_amazon/amazon_reviews.csv",),
}

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def add_datasets_option(parser: argparse.ArgumentParser) -> None:
    """``--datasets DIR`` (required; ``$HEED_DATASETS`` when the option is not given)."""
    parser.add_argument(
        "--datasets",
        metavar="DIR",
        default=None,
        help=f"folder with the reference datasets (sst2/, banking77/, vader_amazon/, laid out "
        f"as in benchmarks/README.md); required, or set {DATASETS_ENV}",
    )


def datasets_dir(
    parser: argparse.ArgumentParser, value: str | None, needs: Iterable[str], alternative: str = ""
) -> Path:
    """The datasets folder from ``--datasets`` (else ``$HEED_DATASETS``), checked to hold every
    file in ``needs`` (paths relative to it). There is no default: the datasets are not part of
    the repository. Errors go through ``parser.error`` (usage, exit status 2); ``alternative``
    names another option that would also do (for the message)."""
    source = "--datasets"
    if not value:
        value, source = os.environ.get(DATASETS_ENV), f"${DATASETS_ENV}"
    if not value:
        also = f", or {alternative}" if alternative else ""
        parser.error(
            f"--datasets DIR is required (or set {DATASETS_ENV}{also}): "
            "the folder holding sst2/, banking77/ and vader_amazon/ as described in "
            "benchmarks/README.md"
        )
    root = Path(value).expanduser()
    if not root.is_dir():
        parser.error(f"{source} {value}: no such directory")
    missing = [rel for rel in needs if not (root / rel).is_file()]
    if missing:
        parser.error(
            f"{source} {value}: missing {', '.join(missing)} "
            "(expected layout: benchmarks/README.md, 'Datasets')"
        )
    _HOST_PATHS[value] = "DIR"
    _HOST_PATHS[str(root.resolve())] = "DIR"
    return root.resolve()


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "classifier", "training"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return sha + ("+dirty(classifier/training)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def hardware() -> dict:
    """What the numbers were measured on."""
    import torch

    gpu = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = {
            "name": torch.cuda.get_device_name(0),
            "memory_gib": round(props.total_memory / 2**30, 1),
            "count": torch.cuda.device_count(),
            "cuda": torch.version.cuda,
        }
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    load = None
    with contextlib.suppress(OSError):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": affinity,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": load,
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "command": shlex.join([sys.executable, *sys.argv]),
    }


def default_out(name: str) -> Path:
    return RESULTS_DIR / f"{name}.json"


def portable(value: object) -> object:
    """``value`` (JSON-ready, nested) with host paths replaced: the datasets folder by ``DIR``,
    this checkout by a relative path, the interpreter by ``python``."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v) for v in value]
    if not isinstance(value, str):
        return value
    replacements = {
        **_HOST_PATHS,
        sys.executable: "python",
        f"{REPO_ROOT}/": "",
        str(REPO_ROOT): ".",
    }
    for host in sorted(replacements, key=len, reverse=True):
        value = value.replace(host, replacements[host])
    return value


def write_json(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` atomically (tmp + rename), host paths made :func:`portable`; returns
    the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(portable(json.loads(json.dumps(payload, default=str))), indent=2)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(samples: Sequence[float]) -> dict:
    """p50/p95/mean/min of seconds, reported in milliseconds."""
    return {
        "n": len(samples),
        "p50_ms": percentile(samples, 50) * 1e3,
        "p95_ms": percentile(samples, 95) * 1e3,
        "mean_ms": statistics.fmean(samples) * 1e3 if samples else float("nan"),
        "min_ms": min(samples) * 1e3 if samples else float("nan"),
    }


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextlib.contextmanager
def temp_model_store() -> Iterator[Path]:
    """Point ``HEED_MODEL_DIR`` at a temporary directory for the duration (never ./models)."""
    previous = os.environ.get("HEED_MODEL_DIR")
    with tempfile.TemporaryDirectory(prefix="heed-bench-models-") as tmp:
        os.environ["HEED_MODEL_DIR"] = tmp
        try:
            yield Path(tmp)
        finally:
            if previous is None:
                os.environ.pop("HEED_MODEL_DIR", None)
            else:
                os.environ["HEED_MODEL_DIR"] = previous


def stratified_subsample(rows: Sequence, n: int, seed: int, key: Callable = lambda r: r.label):
    """``n`` rows keeping each label's share (largest remainder), seeded; order shuffled."""
    import random
    from collections import defaultdict

    if n >= len(rows):
        out = list(rows)
        random.Random(seed).shuffle(out)
        return out
    by_label: dict = defaultdict(list)
    for row in rows:
        by_label[key(row)].append(row)
    exact = {k: n * len(v) / len(rows) for k, v in by_label.items()}
    quota = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (-(exact[k] - quota[k]), str(k)))[
        : n - sum(quota.values())
    ]:
        quota[k] += 1
    rng = random.Random(seed)
    picked = []
    for k in sorted(by_label, key=str):
        picked.extend(rng.sample(by_label[k], quota[k]))
    rng.shuffle(picked)
    return picked


def set_threads(n: int | None) -> int:
    """``torch.set_num_threads(n)`` when given; returns the count in effect."""
    import torch

    if n:
        torch.set_num_threads(n)
    return torch.get_num_threads()
