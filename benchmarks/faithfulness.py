"""Faithfulness of Heed's explanations: ERASER comprehensiveness and sufficiency (AOPC).

DeYoung et al. 2020 (ERASER), section 4: for a text x whose predicted class is c,

* comprehensiveness(k) = p(c | x) - p(c | x without its top-k % words)   (higher = better:
  removing the words the explanation ranks highest should hurt the prediction);
* sufficiency(k)       = p(c | x) - p(c | only its top-k % words)         (lower = better:
  the top words alone should keep the prediction);
* AOPC = the mean over k in {1, 5, 10, 20, 50} %.

Words are the explanation's whitespace words (``Explanation.words``); the top-k % are the
``ceil(k/100 * n)`` words with the largest weights (at least one; ties keep reading order).
Removing a word deletes it from the text (the rest joined by single spaces, order kept);
every perturbed text is re-scored with ``Classifier.predict`` (batched, SDPA fast path) and the
drop in the originally predicted class's probability is averaged over the examples.

Methods: any of ``Classifier.explain``'s (``--methods``; integrated gradients, ``gradient``, is
the reference) and ``random`` (a seeded random ranking, averaged over ``--random-draws`` draws),
on the SST-2 GLUE dev set and on VADER Amazon rows.

Two disjoint splits of ``--n`` texts per dataset: ``selection`` (a stratified draw; the rows the
single-split runs before it reported, at the same ``--n`` and ``--seed``), on which the default
is chosen, and ``report``, a stratified draw from the other rows (no text of the selection
split), on which every candidate is reported, so the chosen method's lead carries no selection
bias there. Models: ``--sst2-model``/``--vader-model`` (a model DIR or store VERSION),
or the default recipe is fine-tuned first: SST-2 on a stratified ``--train-rows`` subset of
``sst2/train.tsv`` (epoch chosen on 872 other train rows); VADER on a stratified 1,200-row cut
of the full set (the bundled sample's size when the published figures were measured; the
bundled sample is now every row), with the evaluated VADER rows drawn
from the full set minus every text of that cut.

The recommendation, on the selection split only, is the cheapest method as faithful as
integrated gradients (comprehensiveness AOPC within 0.02 of its, sufficiency no worse, on every
dataset); cost = p50 /classify at 40 words read from ``--latency`` (latency.py's JSON) when it
timed the method, else this run's mean explain time. ``default_candidates`` are those that also
meet the 60 ms goal, and ``report_check`` says whether each still meets the rule on the report
split.

Usage::

    python benchmarks/faithfulness.py --datasets DIR --n 200
    python benchmarks/faithfulness.py --datasets DIR --n 50 --datasets-only sst2 --sst2-model MODEL

``--datasets DIR`` (or ``$HEED_DATASETS``) is required except with ``--recommend-only``: the
folder described in benchmarks/README.md, "Datasets".
"""

from __future__ import annotations

import argparse
import json
import math
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
    set_threads,
    temp_model_store,
    write_json,
)
from _faithfulness_models import sst2_setup, vader_setup
from _faithfulness_verdict import (
    BINS,
    REFERENCE,
    SPLITS,
    latency_budget,
    recommend,
    render_table,
    split_rows,
)

METHODS = ("attention", "rollout", "gradient", "gradient-upper", "attn-grad", "attn-grad-mix")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="ERASER comprehensiveness/sufficiency AOPC of attention, rollout, "
        "gradient and random.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_datasets_option(p)
    p.add_argument("--datasets-only", default="sst2,vader", help="comma list: sst2, vader")
    p.add_argument("--n", type=int, default=200, help="examples per dataset and split")
    p.add_argument(
        "--splits", default=",".join(SPLITS), help="comma list: selection, report (disjoint rows)"
    )
    p.add_argument("--min-words", type=int, default=3, help="skip shorter texts")
    p.add_argument(
        "--model", default=None, help="model for the single dataset given by --datasets-only"
    )
    p.add_argument(
        "--sst2-model", default=None, help="SST-2 model DIR or store VERSION (default: fine-tune)"
    )
    p.add_argument(
        "--vader-model", default=None, help="VADER model DIR or store VERSION (default: fine-tune)"
    )
    p.add_argument(
        "--train-rows", type=int, default=2000, help="SST-2 rows for the default fine-tune"
    )
    p.add_argument(
        "--epochs", type=int, default=None, help="override TrainConfig().epochs for fine-tunes"
    )
    p.add_argument(
        "--save-models", default=None, help="keep fine-tuned models under this directory"
    )
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma list of Classifier methods; gradient@N, gradient-upper@N: with N steps",
    )
    p.add_argument(
        "--random-draws", type=int, default=2, help="random rankings averaged for the baseline"
    )
    p.add_argument(
        "--ig-steps", type=int, default=None, help="default: Classifier's DEFAULT_IG_STEPS"
    )
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    p.add_argument(
        "--seed", type=int, default=13, help="the examples drawn and the random rankings"
    )
    p.add_argument("--latency", default=str(default_out("latency")), help="latency.py JSON: cost")
    p.add_argument(
        "--recommend-only",
        action="store_true",
        help="recompute the recommendation and table from an existing --out JSON and --latency",
    )
    p.add_argument("--out", default=str(default_out("faithfulness")), help="JSON results file")
    args = p.parse_args(argv)
    args.datasets_only = [d for d in args.datasets_only.split(",") if d]
    args.methods = [m for m in args.methods.split(",") if m]
    args.splits = [s for s in args.splits.split(",") if s]
    if not args.splits or set(args.splits) - set(SPLITS):
        p.error(f"--splits must name some of {', '.join(SPLITS)}")
    if REFERENCE not in args.methods:
        p.error(f"--methods must include {REFERENCE} (integrated gradients, the reference)")
    if args.model:
        if len(args.datasets_only) != 1:
            p.error(
                "--model needs exactly one dataset in --datasets-only "
                "(else use --sst2-model/--vader-model)"
            )
        setattr(args, f"{args.datasets_only[0]}_model", args.model)
    files = {"sst2": ["sst2/dev.tsv"], "vader": ["vader_amazon/amazon_reviews.csv"]}
    bad = sorted(set(args.datasets_only) - set(files))
    if bad:
        p.error(f"unknown dataset(s) {bad} in --datasets-only: use sst2, vader")
    if not args.sst2_model:
        files["sst2"].append("sst2/train.tsv")  # the default fine-tune
    if not args.recommend_only:  # that reads only the JSON files
        args.datasets = datasets_dir(
            p, args.datasets, [f for d in args.datasets_only for f in files[d]]
        )
    return args


# ------------------------------------------------------------------------------------------
# the metric


def top_k(ranking: list[int], n: int, pct: int) -> set[int]:
    return set(ranking[: max(1, math.ceil(pct / 100 * n))])


def ranking_from(weights: list[float]) -> list[int]:
    return sorted(range(len(weights)), key=lambda i: (-weights[i], i))


def explain(clf, text: str, method: str, steps: int):
    """``NAME@N``: integrated gradients (``gradient``, ``gradient-upper``) with N steps; plain
    ``gradient`` uses ``steps``, the others their own default."""
    name, _, n = method.partition("@")
    if n:
        return clf.explain(text, name, steps=int(n))
    return clf.explain(text, name, steps=steps) if name == REFERENCE else clf.explain(text, name)


def evaluate_dataset(name, split, clf, picked, args, rng) -> dict:
    from classifier.model import DEFAULT_IG_STEPS

    texts = [r.text for r in picked]
    started = time.perf_counter()
    base_preds = clf.predict(texts)
    accuracy = statistics.fmean(p.label == r.label for p, r in zip(base_preds, picked, strict=True))

    methods = args.methods
    explain_seconds = {m: 0.0 for m in methods}
    agree = 0
    rankings: list[dict[str, list[list[int]]]] = []
    word_lists: list[list[str]] = []
    steps = args.ig_steps or DEFAULT_IG_STEPS
    for i, text in enumerate(texts):
        per: dict[str, list[list[int]]] = {}
        words = None
        for method in methods:
            t0 = time.perf_counter()
            expl = explain(clf, text, method, steps)
            explain_seconds[method] += time.perf_counter() - t0
            words = expl.words
            # Signed methods rank by the signed score: words that argue against come last.
            per[method] = [ranking_from(expl.signed_weights or expl.weights)]
            if method == methods[0]:
                agree += expl.prediction.label == base_preds[i].label
        draws = []
        for _ in range(args.random_draws):
            order = list(range(len(words)))
            rng.shuffle(order)
            draws.append(order)
        per["random"] = draws
        rankings.append(per)
        word_lists.append(words)
        if (i + 1) % 25 == 0:
            print(
                f"[faithfulness] {name} {split}: explained {i + 1}/{len(texts)}",
                file=sys.stderr,
                flush=True,
            )

    # Build every perturbed text once; score them all in one batched predict.
    variants: dict[str, int] = {}
    plan = []  # (example, method, draw, pct, kind, text_index)
    for i, (words, per) in enumerate(zip(word_lists, rankings, strict=True)):
        n = len(words)
        for method, draws in per.items():
            for d, ranking in enumerate(draws):
                for pct in BINS:
                    top = top_k(ranking, n, pct)
                    removed = " ".join(w for j, w in enumerate(words) if j not in top)
                    kept = " ".join(w for j, w in enumerate(words) if j in top)
                    for kind, t in (("comp", removed), ("suff", kept)):
                        idx = variants.setdefault(t, len(variants))
                        plan.append((i, method, d, pct, kind, idx))
    t0 = time.perf_counter()
    unique = list(variants)
    preds = clf.predict(unique)
    predict_seconds = time.perf_counter() - t0
    print(
        f"[faithfulness] {name} {split}: scored {len(unique)} perturbed texts "
        f"in {predict_seconds:.0f}s",
        file=sys.stderr,
        flush=True,
    )

    # per example, method: mean over draws of AOPC; then mean over examples
    acc: dict = {}
    for i, method, _draw, pct, kind, idx in plan:
        c = base_preds[i].label
        drop = base_preds[i].scores[c] - preds[idx].scores[c]
        acc.setdefault(method, {}).setdefault(kind, {}).setdefault(pct, {}).setdefault(
            i, []
        ).append(drop)
    methods_out = {}
    for method in (*methods, "random"):
        out = {}
        for kind in ("comp", "suff"):
            per_pct = {
                pct: {i: statistics.fmean(v) for i, v in acc[method][kind][pct].items()}
                for pct in BINS
            }
            per_example_aopc = [
                statistics.fmean(per_pct[pct][i] for pct in BINS) for i in range(len(texts))
            ]
            mean = statistics.fmean(per_example_aopc)
            se = (
                statistics.stdev(per_example_aopc) / math.sqrt(len(per_example_aopc))
                if len(per_example_aopc) > 1
                else 0.0
            )
            out[kind] = {
                "aopc": mean,
                "aopc_se": se,
                "by_pct": {str(p): statistics.fmean(per_pct[p].values()) for p in BINS},
            }
        if method != "random":
            out["explain_ms_mean"] = 1e3 * explain_seconds[method] / len(texts)
        methods_out[method] = out
    return {
        "dataset": name,
        "split": split,
        "n": len(texts),
        "mean_words": statistics.fmean(len(w) for w in word_lists),
        "model_accuracy_on_these_rows": accuracy,
        "explain_prediction_agrees_with_predict": agree / len(texts),
        "perturbed_texts_scored": len(unique),
        "seconds": round(time.perf_counter() - started, 1),
        "methods": methods_out,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.recommend_only:
        payload = json.loads(Path(args.out).read_text(encoding="utf-8"))
        payload["recommendation_recomputed"] = {
            "command": hardware()["command"],
            "date": hardware()["date"],
        }
        return finish(args, payload)
    import torch

    from classifier.device import pick_device

    set_threads(args.threads)
    data = args.datasets
    device = pick_device(args.device)
    rng = random.Random(args.seed)
    payload: dict = {
        "benchmark": "faithfulness",
        "hardware": hardware(),
        "bins_pct": BINS,
        "definition": "ERASER (DeYoung et al. 2020): comp = p(c|x) - p(c|x minus top-k% words), "
        "suff = p(c|x) - p(c|top-k% words only), AOPC = mean over k; c = predicted class",
        "results": [],
        "models": {},
        "eligible_rows": {},
    }
    with temp_model_store():
        for name in args.datasets_only:
            setup = {"sst2": sst2_setup, "vader": vader_setup}[name]
            clf, info, rows = setup(args, data, device)
            payload["models"][name] = info
            print(
                f"[faithfulness] {name}: model ready ({info['source']})",
                file=sys.stderr,
                flush=True,
            )
            eligible = [r for r in rows if len(r.text.split()) >= args.min_words]
            payload["eligible_rows"][name] = len(eligible)
            for split, picked in split_rows(eligible, args.n, args.seed).items():
                if split in args.splits:
                    result = evaluate_dataset(name, split, clf, picked, args, rng)
                    payload["results"].append(result)
                    payload["hardware"]["torch_threads"] = torch.get_num_threads()
                    write_json(args.out, payload)
            del clf

    return finish(args, payload)


def finish(args, payload: dict) -> int:
    latency = latency_budget(args.latency)
    payload["latency_budget"] = latency
    payload["recommendation"] = recommend(payload["results"], latency)
    payload["table"] = render_table(payload)
    write_json(args.out, payload)
    print(f"wrote {args.out}")
    print("recommended default: " + payload["recommendation"]["reason"])
    print(payload["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
