"""The README's main job: train the default model if none serves, evaluate it, draw heatmaps."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from classifier import ModelStore, heatmap
from classifier.model import Classifier
from classifier.types import DEFAULT_EXPLAIN_METHOD
from training.pipeline import DEFAULT_SAMPLE, train_default_model

EXAMPLES = (
    "The battery died after two days and support never answered. Total waste of money.",
    "Arrived on time, works exactly as described, and the sound is wonderful.",
    "It is a charger. It charges the phone.",
    "Not bad at all, though the manual could be clearer.",
)


def run_demo(
    out_dir: Path,
    store: ModelStore,
    write: Callable[[str], None],
    *,
    device: torch.device,
    base: str | None = None,
) -> dict:
    """Train (when needed, from ``base``), report eval metrics, classify the examples and save
    heatmaps, on ``device``."""
    started = time.monotonic()
    trained = None
    if store.current() is None:
        write(
            f"No model serving in {store.root}: training the default on {DEFAULT_SAMPLE.name} ..."
        )
        trained = train_default_model(store, device, base)
    classifier = Classifier.load("current", store=store, device=str(device))
    meta = store.metadata(classifier.version)
    metrics = meta.get("metrics", {})
    write(
        f"Model {classifier.version} ({meta.get('base_model', '?')}), "
        f"held-out eval on {meta.get('rows', {}).get('eval', '?')} rows: "
        f"accuracy {metrics.get('accuracy', float('nan')):.3f}, "
        f"macro-F1 {metrics.get('macro_f1', float('nan')):.3f}"
    )
    for label, m in metrics.get("per_class", {}).items():
        write(
            f"  {label:<10} precision {m['precision']:.3f}  "
            f"recall {m['recall']:.3f}  F1 {m['f1']:.3f}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, text in enumerate(EXAMPLES, start=1):
        explanation = classifier.explain(text, DEFAULT_EXPLAIN_METHOD)
        path = out_dir / f"example-{number}.png"
        path.write_bytes(heatmap.render(explanation))
        layers = out_dir / f"example-{number}-layers.png"
        layers.write_bytes(heatmap.render_layers(explanation))
        written += [path, layers]
        p = explanation.prediction
        write(f'{p.label:>9} {p.confidence:6.1%}  "{text}"  -> {path}')
    write(f"Heatmaps written to {out_dir.resolve()}/ in {time.monotonic() - started:.0f}s total.")
    return {
        "version": classifier.version,
        "trained": trained,
        "metrics": metrics,
        "heatmaps": [str(p) for p in written],
    }
