"""A model store serving the embedded MiniLM with a fresh, untrained head: what the e2e tests
and the benchmarks serve when they need the real base model's size and speed, not accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

VERSION = "20260101-000000-abcdef"


def minilm_store(root: Path, labels: Sequence[str], version: str = VERSION) -> Path:
    """``root`` as a store whose ``current`` is MiniLM with a fresh head for ``labels``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from classifier.base_model import embedded_base_model_dir

    base = embedded_base_model_dir()
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model.save_pretrained(root / version)
    AutoTokenizer.from_pretrained(base).save_pretrained(root / version)
    (root / "current").write_text(version + "\n", encoding="utf-8")
    return root
