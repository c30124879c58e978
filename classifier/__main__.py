"""CLI: ``python -m classifier predict|models|promote|rollback`` (``--json`` for machines)."""

from __future__ import annotations

import argparse
from pathlib import Path

from classifier import cli_support
from classifier.cli_support import configure, configure_torch, emit, exit_now, fail
from classifier.store import (
    DEFAULT_TASK,
    ModelNotFoundError,
    ModelStore,
    StoreError,
    task_root,
)
from classifier.types import DEFAULT_EXPLAIN_METHOD, EXPLAIN_METHODS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier", description=__doc__, allow_abbrev=False
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--task",
        default=DEFAULT_TASK,
        help="the task's store: $HEED_MODEL_DIR/TASK (default: the root itself)",
    )
    common.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout, not text"
    )
    predict = sub.add_parser(
        "predict", parents=[common], allow_abbrev=False, help="classify a text and explain it"
    )
    predict.add_argument("text", help="the text to classify (quote it)")
    predict.add_argument("--model", default="current", help="current, a version or a directory")
    predict.add_argument(
        "--explain",
        choices=EXPLAIN_METHODS,
        default=DEFAULT_EXPLAIN_METHOD,
        help="how the words are weighed for the heatmap (default: %(default)s)",
    )
    predict.add_argument(
        "--versus",
        metavar="LABEL",
        help="explain why the predicted label and not LABEL: the margin between the two "
        "(attn-grad or gradient; signed weights toward the prediction / toward LABEL)",
    )
    predict.add_argument("--heatmap", type=Path, metavar="OUT.png", help="write the heatmap PNG")
    predict.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    sub.add_parser(
        "models",
        parents=[common],
        allow_abbrev=False,
        help="list versions; * marks the serving one",
    )
    promote = sub.add_parser("promote", parents=[common], allow_abbrev=False, help="serve VERSION")
    promote.add_argument("version", help="the version to serve, as 'models' lists it")
    sub.add_parser(
        "rollback",
        parents=[common],
        allow_abbrev=False,
        help="serve the previously promoted version again",
    )
    return parser


def _predict(args: argparse.Namespace, store: ModelStore) -> int:
    configure_torch()
    from classifier import heatmap
    from classifier.model import Classifier

    if not args.text.strip():
        return fail("error: the text to classify is empty")
    classifier = Classifier.load(
        args.model, store=store, device=args.device or cli_support.device()
    )
    explanation = classifier.explain(args.text, args.explain, versus=args.versus)
    prediction = explanation.prediction
    result = {
        "label": prediction.label,
        "confidence": prediction.confidence,
        "scores": prediction.scores,
        "model": prediction.model,
        "truncated": prediction.truncated,
        "explanation": explanation.to_dict(),
    }
    if args.heatmap:
        args.heatmap.parent.mkdir(parents=True, exist_ok=True)
        args.heatmap.write_bytes(heatmap.render(explanation))
        result["heatmap"] = str(args.heatmap)
    versus = f", not {args.versus}" if args.versus else ""
    top = sorted(zip(explanation.words, explanation.weights, strict=True), key=lambda p: -p[1])[:5]
    human = "\n".join(
        [f"{prediction.label} ({prediction.confidence:.1%}) by {prediction.model}"]
        + [f"  {label:<24} {p:.3f}" for label, p in prediction.scores.items()]
        + [f"  top words ({args.explain}{versus}): " + ", ".join(f"{w} {v:.2f}" for w, v in top)]
        + ([f"  heatmap: {args.heatmap}"] if args.heatmap else [])
        + (["  (text truncated to the model's limit)"] if prediction.truncated else [])
    )
    emit(result, args.json, human)
    return 0


def _models(args: argparse.Namespace, store: ModelStore) -> int:
    current = store.current()
    rows = []
    for version in store.versions():
        meta = store.metadata(version)
        metrics = meta.get("metrics", {})
        rows.append(
            {
                "version": version,
                "current": version == current,
                "labels": meta.get("labels", []),
                "accuracy": metrics.get("accuracy"),
                "macro_f1": metrics.get("macro_f1"),
                "created": meta.get("created"),
                "base_model": meta.get("base_model"),
            }
        )
    lines = [
        f"{'*' if r['current'] else ' '} {r['version']}  "
        + (
            f"acc {r['accuracy']:.3f}  F1 {r['macro_f1']:.3f}  "
            if r["accuracy"] is not None
            else ""
        )
        + f"labels: {', '.join(r['labels'])}"
        for r in rows
    ] or [f"no model versions in {store.root}"]
    emit(
        {"root": str(store.root), "current": current, "versions": rows}, args.json, "\n".join(lines)
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for bad input or unknown models)."""
    args = _parser().parse_args(argv)
    configure()
    try:
        store = ModelStore(task_root(cli_support.model_dir(), args.task))
        if args.command == "predict":
            return _predict(args, store)
        if args.command == "models":
            return _models(args, store)
        if args.command == "promote":
            store.promote(args.version)
            emit({"current": args.version}, args.json, f"now serving {args.version}")
            return 0
        previous, current = store.rollback()
        emit(
            {"current": current, "previous": previous},
            args.json,
            f"rolled back from {previous}; now serving {current}",
        )
        return 0
    except (ModelNotFoundError, StoreError, ValueError) as exc:
        return fail(f"error: {exc}")


if __name__ == "__main__":
    exit_now(main())
