"""Faithfulness and cost of contrastive explanations ("why A, not B"), issue 25.

For a text x predicted as class A with runner-up B, the contrastive map (``attn-grad`` with
``versus=B``) should rank first the words that make A beat B. Its faithfulness is measured as
in ``faithfulness.py`` (ERASER AOPC over k in {1, 5, 10, 20, 50} % of the words), but on the
*margin* ``m(x) = logit_A(x) - logit_B(x)`` (uncalibrated logits; a temperature scales both
alike, so the ranking of words is the same):

* comprehensiveness = m(x) - m(x without its top-k % words): higher = better;
* sufficiency      = m(x) - m(only its top-k % words): lower = better.

Three rankings are compared on the same rows in the same run: the contrastive map, the plain
``attn-grad`` map of A (the words that argue for A, whether or not they argue against B), and
a random ranking (``--random-draws`` draws). Latency: p50 of ``Classifier.explain`` at 40
words with and without ``versus``, interleaved, ``--latency-repeats`` each.

Datasets: VADER Amazon (3 classes; the default recipe fine-tuned on a 1,200-row cut,
evaluated on rows outside it, as faithfulness.py does) and banking77 (77 intents; the default
recipe fine-tuned on ``--banking-per-intent`` rows per intent of train.csv, evaluated on
test.csv).

Usage::

    python benchmarks/contrastive.py --datasets DIR --n 100
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _common import (
    add_datasets_option,
    datasets_dir,
    default_out,
    hardware,
    percentile,
    set_threads,
    stratified_subsample,
    table,
    write_json,
)
from faithfulness import BINS, fine_tune, ranking_from, top_k, vader_setup

RANKINGS = ("contrastive", "plain", "random")
LATENCY_TEXT = (
    "the delivery was late again and the support agent never answered my emails so this is "
    "honestly the worst service I have had from any shop in years and I will not order again "
    "from them even if the price is lower next time"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="AOPC of the margin for contrastive, plain and random word rankings.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_datasets_option(p)
    p.add_argument("--datasets-only", default="vader,banking77", help="comma list")
    p.add_argument("--n", type=int, default=100, help="examples per dataset")
    p.add_argument("--min-words", type=int, default=3, help="skip shorter texts")
    p.add_argument("--banking-per-intent", type=int, default=20, help="banking77 train rows")
    p.add_argument("--random-draws", type=int, default=5, help="random rankings averaged per text")
    p.add_argument("--latency-repeats", type=int, default=30, help="timed explanations per variant")
    p.add_argument(
        "--seed", type=int, default=0, help="seeds the rows picked and the random rankings"
    )
    p.add_argument("--epochs", type=int, default=0, help="override TrainConfig().epochs")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    p.add_argument("--out", default=str(default_out("contrastive")), help="JSON results file")
    args = p.parse_args(argv)
    args.datasets_only = [d for d in args.datasets_only.split(",") if d]
    args.save_models = None  # faithfulness.fine_tune reads it
    files = {
        "vader": ["vader_amazon/amazon_reviews.csv"],
        "banking77": ["banking77/train.csv", "banking77/test.csv"],
    }
    bad = sorted(set(args.datasets_only) - set(files))
    if bad:
        p.error(f"unknown dataset(s) {bad}: use vader, banking77")
    args.datasets = datasets_dir(
        p, args.datasets, [f for d in args.datasets_only for f in files[d]]
    )
    return args


def banking_setup(args, data: Path, device):
    from classifier.exports import EVAL_FRACTION, read_export, stratified_split

    train_all = read_export(data / "banking77" / "train.csv", label_column="category")
    per_intent: dict[str, list] = {}
    for row in train_all:
        per_intent.setdefault(row.label, []).append(row)
    rng = random.Random(42)
    picked = [r for rows in per_intent.values() for r in rng.sample(rows, args.banking_per_intent)]
    train_rows, select = stratified_split(picked, EVAL_FRACTION, 42)
    clf, info = fine_tune(train_rows, select, args, device, "banking77")
    test = read_export(data / "banking77" / "test.csv", label_column="category")
    return clf, info, test


def margins(clf, texts: list[str], pairs: list[tuple[int, int]]) -> list[float]:
    """logit_A - logit_B of each text, for its (A, B) pair."""
    logits = clf.logits(texts)
    return [float(logits[i, a] - logits[i, b]) for i, (a, b) in enumerate(pairs)]


def evaluate(name: str, clf, rows, args) -> dict:
    rng = random.Random(args.seed)
    eligible = [r for r in rows if len(r.text.split()) >= args.min_words]
    picked = stratified_subsample(eligible, min(args.n, len(eligible)), args.seed)
    texts = [r.text for r in picked]
    logits = clf.logits(texts)
    order = logits.argsort(dim=-1, descending=True)
    pairs = [(int(o[0]), int(o[1])) for o in order]
    plan: list[tuple[int, str, int, int, str, str]] = []  # example, ranking, draw, pct, kind
    for i, text in enumerate(texts):
        versus = clf.labels[pairs[i][1]]
        contrastive = clf.explain(text, "attn-grad", versus=versus)
        plain = clf.explain(text, "attn-grad")
        words = contrastive.words
        draws = {
            "contrastive": [ranking_from(contrastive.signed_weights)],
            "plain": [ranking_from(plain.signed_weights)],
            "random": [rng.sample(range(len(words)), len(words)) for _ in range(args.random_draws)],
        }
        for ranking_name, rankings in draws.items():
            for d, ranking in enumerate(rankings):
                for pct in BINS:
                    top = top_k(ranking, len(words), pct)
                    removed = " ".join(w for j, w in enumerate(words) if j not in top)
                    kept = " ".join(w for j, w in enumerate(words) if j in top)
                    plan.append((i, ranking_name, d, pct, "comp", removed))
                    plan.append((i, ranking_name, d, pct, "suff", kept))
        if (i + 1) % 25 == 0:
            print(f"[contrastive] {name}: explained {i + 1}/{len(texts)}", file=sys.stderr)
    base = margins(clf, texts, pairs)
    perturbed = margins(clf, [t for *_, t in plan], [pairs[i] for i, *_ in plan])
    drops: dict = {}
    for (i, ranking_name, _d, pct, kind, _t), m in zip(plan, perturbed, strict=True):
        key = (ranking_name, kind)
        drops.setdefault(key, {}).setdefault(i, {}).setdefault(pct, []).append(base[i] - m)
    out = {}
    for ranking_name in RANKINGS:
        out[ranking_name] = {}
        for kind in ("comp", "suff"):
            per_example = [
                statistics.fmean(statistics.fmean(v) for v in by_pct.values())
                for by_pct in drops[(ranking_name, kind)].values()
            ]
            out[ranking_name][kind] = statistics.fmean(per_example)
    return {
        "dataset": name,
        "n": len(texts),
        "mean_margin": statistics.fmean(base),
        "aopc_margin": out,
    }


def latency(clf, repeats: int) -> dict:
    """p50 ms of a 40-word attn-grad explanation with and without ``versus``."""
    text = " ".join(LATENCY_TEXT.split()[:40])
    prediction = clf.predict([text])[0]
    versus = sorted(prediction.scores, key=prediction.scores.get)[-2]
    for _ in range(3):
        clf.explain(text, "attn-grad")
        clf.explain(text, "attn-grad", versus=versus)
    samples: dict[str, list[float]] = {"plain": [], "contrastive": []}
    for _ in range(repeats):
        for kind, kwargs in (("plain", {}), ("contrastive", {"versus": versus})):
            t0 = time.perf_counter()
            clf.explain(text, "attn-grad", **kwargs)
            samples[kind].append(1e3 * (time.perf_counter() - t0))
    return {kind: percentile(values, 50) for kind, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    threads = set_threads(args.threads)
    device = torch.device("cpu")
    setups = {"vader": vader_setup, "banking77": banking_setup}
    results = []
    for name in args.datasets_only:
        args.vader_model = None
        clf, info, rows = setups[name](args, args.datasets, device)
        result = evaluate(name, clf, rows, args)
        result["model"] = info
        result["latency_ms_p50_40_words"] = latency(clf, args.latency_repeats)
        results.append(result)
    payload = {"hardware": hardware(), "threads": threads, "args": vars(args), "results": results}
    payload["args"]["datasets"] = str(args.datasets)
    write_json(args.out, payload)
    rows = []
    for r in results:
        a, lat = r["aopc_margin"], r["latency_ms_p50_40_words"]
        rows.append(
            [
                r["dataset"],
                r["n"],
                *(f"{a[k]['comp']:.3f} / {a[k]['suff']:.3f}" for k in RANKINGS),
                f"{lat['contrastive']:.0f} vs {lat['plain']:.0f}",
            ]
        )
    headers = ["dataset", "n", *(f"{k} comp / suff" for k in RANKINGS), "p50 ms versus vs plain"]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
