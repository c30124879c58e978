"""Shared fixtures: a tiny random BERT (fast unit tests), labelled exports, an isolated store."""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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
