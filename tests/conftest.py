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
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under -n the workers already fill the cores: one torch (OpenMP) thread each, inherited by
    # the bot and training processes they start, so idle threads do not spin for a busy core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

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


# The slowest modules, slowest first: seconds in one pytest process on 2 busy cores (the
# 2026-12-07 baseline, 29 min in all; ~ marks a baseline scaled by the module's new/old time
# measured back to back once its start-up failures skipped torch and its CLI runs moved
# in-process). ``make test`` hands whole modules to its xdist workers (``--dist loadfile``) in
# collection order, so these start first and none of them ends the run alone on one worker.
# A module not listed runs after them (e2e ones first).
SLOWEST_MODULES = (
    "tests/training/test_integration.py",  # 231 s: fine-tunes the real base model
    "tests/e2e/test_admin.py",  # 180 s
    "tests/e2e/test_replicas.py",  # 175 s
    "tests/training/test_cli.py",  # 120 s
    "tests/e2e/test_tasks.py",  # 105 s
    "tests/e2e/test_startup.py",  # ~96 s (179 s before)
    "tests/training/test_few_shot.py",  # 93 s
    "tests/training/test_distributed.py",  # 64 s
    "tests/e2e/test_tasks_cli.py",  # ~47 s (105 s before)
    "tests/e2e/test_socket_mode.py",  # 43 s
    "tests/bot/retrain/test_runner.py",  # 30 s
    "tests/bot/retrain/test_trusted_eval.py",  # 25 s
    "tests/bot/test_app_retrain_preview.py",  # 25 s
    "tests/training/test_contract.py",  # 23 s
    "tests/e2e/test_http_face.py",  # 22 s
    "tests/bot/test_app_admin.py",  # 19 s
    "tests/training/test_watchdog.py",  # 19 s
)


def _cost_rank(item: pytest.Item) -> int:
    """Where ``item``'s module goes: the listed slow modules in order, then other e2e
    modules, then the rest."""
    module = item.nodeid.split("::")[0]
    if module in SLOWEST_MODULES:
        return SLOWEST_MODULES.index(module)
    return len(SLOWEST_MODULES) + (item.get_closest_marker("e2e") is None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest modules first, each module's tests still together and in order."""
    items.sort(key=_cost_rank)


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


_RNG_AFTER_TINY_BASE: list = []  # torch's random state right after the tiny base was drawn


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
    _RNG_AFTER_TINY_BASE[:] = [torch.get_rng_state()]
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with three labels (random weights), saved as a loadable model directory."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    path = tmp_path_factory.mktemp("tiny-model")
    labels = ["negative", "neutral", "positive"]
    import torch

    # The 3-label head is drawn afresh, from the random state the tiny base left (as when a
    # test asks for this model first): not from whatever the tests that ran before in this
    # process left, which differs per xdist worker. The tests rely on this head ("neutral"
    # to everything; signed explanations both ways).
    torch.set_rng_state(_RNG_AFTER_TINY_BASE[0])
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
