"""Shared fixtures: a tiny random BERT (fast unit tests), labelled exports, an isolated store;
and the hooks that let ``make test`` spread the suite over pytest-xdist workers."""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.fakeslack import FakeSlack

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The CLIs read ./.env (classifier.cli_support.load_env); a developer's own .env must not
# leak into the tests, which set what they need themselves.
os.environ.setdefault("HEED_ENV_FILE", os.devnull)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

WORDS = {
    "positive": ["great", "love", "excellent", "wonderful", "happy", "perfect", "nice"],
    "negative": ["awful", "hate", "broken", "terrible", "refund", "worst", "poor"],
    "neutral": ["box", "arrived", "color", "manual", "size", "cable", "tuesday"],
}


def make_rows(n_per_label: int, seed: int = 0) -> list[tuple[str, str]]:
    """Synthetic but learnable rows: each label has its own vocabulary."""
    rng = random.Random(seed)
    filler = ["the", "it", "was", "this", "a", "and", "very", "product"]
    rows = []
    for label, words in WORDS.items():
        for _ in range(n_per_label):
            tokens = rng.sample(words, 2) + rng.sample(filler, 3)
            rng.shuffle(tokens)
            rows.append((" ".join(tokens), label))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")):
    """Write ``rows`` as a CSV export with ``header``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# Expected cost of a test module, cheapest last: the workers take modules (or single tests) in
# collection order, so the long ones start first and do not end the run on one busy worker.
SLOW_FIRST = (
    "integration",  # fine-tunes the real embedded base model
    "e2e",  # starts the real bot process
)


def _module_scoped(item: pytest.Item) -> bool:
    """Whether ``item`` uses a fixture that outlives one test but not the session (module,
    class or package scope): its module must run on one worker, in order, to share it."""
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is None:
        return False
    return any(
        fixturedef.scope in ("module", "class", "package")
        for defs in fixtureinfo.name2fixturedefs.values()
        for fixturedef in defs
    )


def _cost_rank(item: pytest.Item, grouped: set[str]) -> int:
    for rank, marker in enumerate(SLOW_FIRST):
        if item.get_closest_marker(marker):
            return rank
    return len(SLOW_FIRST) + (_module_of(item) not in grouped)


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each module that shares a module-scoped fixture (a bot process, a PostgreSQL
    database, a fine-tuned model) on one xdist worker (``--dist loadgroup``), and order the
    modules slowest first; other tests spread one by one. Without xdist the marker is inert
    and the order still keeps every module's tests together."""
    grouped = {_module_of(item) for item in items if _module_scoped(item)}
    rank: dict[str, int] = {}
    for item in items:
        module = _module_of(item)
        rank[module] = min(rank.get(module, 99), _cost_rank(item, grouped))
        if module in grouped:
            item.add_marker(pytest.mark.xdist_group(module))
    items.sort(key=lambda item: rank[_module_of(item)])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand the e2e latencies recorded here to the controller."""
    from tests.support import latency

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and latency.LATENCIES:
        workeroutput[latency.WORKER_OUTPUT_KEY] = latency.export_records()


@pytest.hookimpl(optionalhook=True)  # an xdist hook: on the controller, as each worker ends
def pytest_testnodedown(node: Any, error: object) -> None:
    from tests.support import latency

    exported = getattr(node, "workeroutput", {}).get(latency.WORKER_OUTPUT_KEY)
    if exported:
        latency.merge_records(exported)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the /classify latencies the e2e tests recorded and save them as
    ``e2e-latency.json`` in the session's temporary directory."""
    from tests.support.latency import LATENCIES, latency_summary

    if not LATENCIES or hasattr(config, "workeroutput"):
        return
    summary = latency_summary()
    terminalreporter.section("/classify latency (fake Slack, real bot process)")
    for scenario, kinds in summary.items():
        for kind, s in kinds.items():
            terminalreporter.write_line(
                f"{scenario:<14} {kind:<7} n={s['n']:<3} p50 {s['p50_ms']:>7.1f} ms   "
                f"p95 {s['p95_ms']:>7.1f} ms   max {s['max_ms']:>7.1f} ms"
            )
    path = config._tmp_path_factory.getbasetemp() / "e2e-latency.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def last_json(out: str) -> dict:
    """The JSON object on the last non-empty line of a command's stdout (the CLI contract)."""
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer, 32-wide BERT with the real uncased vocabulary."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from classifier.base_model import embedded_base_model_dir

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(embedded_base_model_dir())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    import torch

    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with three labels (random weights), saved as a loadable model directory."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    path = tmp_path_factory.mktemp("tiny-model")
    labels = ["negative", "neutral", "positive"]
    model = BertForSequenceClassification.from_pretrained(
        tiny_base,
        num_labels=3,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(path)
    return path


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model store, also set as ``$HEED_MODEL_DIR``."""
    root = tmp_path / "models"
    monkeypatch.setenv("HEED_MODEL_DIR", str(root))
    return root


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A valid 3-label CSV export of 90 synthetic rows."""
    return write_csv(tmp_path / "export.csv", make_rows(30))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack (Web API and Socket Mode on a free loopback port), stopped afterwards."""
    from tests.support.fakeslack import FakeSlack

    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the whole run (its ``heed`` database's
    URL), in the system's temporary folder (the server user cannot enter pytest's, which is
    private to root); skipped with the reason when the server binaries are missing."""
    from tests.support.postgres import missing_reason, throwaway_cluster

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with throwaway_cluster() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database shared by one test module, dropped afterwards."""
    from tests.support.postgres import fresh_database

    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture
def postgres_test_database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    from tests.support.postgres import fresh_database

    with fresh_database(postgres_server) as url:
        yield url
