"""Latency of one ``/classify`` on this machine, against the seed article's approach.

One ``/classify`` in Heed is ``Classifier.explain(text, method)`` (tokenise without padding,
one eager forward pass with attentions for this text, the explanation) followed by
``heatmap.render(explanation)`` (Pillow PNG). The seed article's approach, measured in the same
run and interleaved call by call with Heed's (so machine noise hits both alike):

* a separately loaded eager model (``attn_implementation="eager"``) called with
  ``output_attentions=True`` on every call, prediction included;
* the tokenizer with ``padding="max_length", max_length=128, truncation=True``;
* the same explanation maths (last-layer [CLS] attention / rollout / integrated gradients with
  the same 16 steps and [CLS] [PAD]... [SEP] baseline) on the padded 128-token input, shown per
  wordpiece;
* a default matplotlib figure per call (``Figure()`` = 6.4 x 4.8 in at 100 dpi, no pyplot):
  ``imshow`` of the weights, one tick label per token, a colour bar, ``tight_layout``, PNG.

Texts: short (10 words), medium (40) and long (200), cut from the bundled VADER Amazon sample.
Also reported: prediction only (``Classifier.predict([text])``, SDPA, dynamic padding, vs the
seed's eager padded call), the heatmap render alone, the effect of ``torch.set_num_threads``,
and a profile of the real path (cProfile over explain + render, torch.profiler operator table).
Only the classifier's public API is used (``Classifier.load/predict/explain``, ``heatmap``).

An earlier ``--gradient-candidates`` mode (IG steps 16 vs 8, IG on the SDPA model) re-implemented
part of ``Classifier.explain`` through private members; its decision (8 IG steps) is in the
classifier, so it was removed. Its result stays in ``results/latency_gradient_candidates.json``
(see benchmarks/README.md for the commit that has it).

The model: ``--model DIR|VERSION`` (a store version resolves in ``$HEED_MODEL_DIR``), or by
default a freshly initialised 3-class head on the embedded all-MiniLM-L6-v2 base (latency does
not depend on the weights' values; the JSON says which was used).

Usage::

    python benchmarks/latency.py                 # full run, ~5-10 min on 2 busy cores
    python benchmarks/latency.py --reps 10 --gradient-reps 4 --no-profile   # quick look
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _common import REPO_ROOT, default_out, hardware, percentile, summarise, table, write_json

SIZES = {"short": 10, "medium": 40, "long": 200}
METHODS = ("attention", "rollout", "gradient", "attn-grad")
SEED_METHODS = ("attention", "rollout", "gradient")
"""Methods the seed approach had; the others are timed for Heed alone."""
SEED_MAX_LENGTH = 128
GOALS_MS = {
    "attention": 60.0,
    "rollout": 60.0,
    "gradient": 1000.0,
    "attn-grad": 60.0,
    "render": 25.0,
}
CLASSIFIER_DIR = REPO_ROOT / "classifier"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description="p50/p95 latency of one /classify (explain + heatmap PNG) "
        "vs the seed approach.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        help="model DIR or store VERSION (default: fresh head on the embedded base)",
    )
    p.add_argument(
        "--reps",
        type=int,
        default=30,
        help="timed calls per variant for attention/rollout/predict/render",
    )
    p.add_argument(
        "--gradient-reps", type=int, default=8, help="timed calls per variant for gradient"
    )
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per variant (gradient: 1)")
    p.add_argument(
        "--sizes",
        default="short,medium,long",
        help="comma list of text sizes: " + ", ".join(f"{k} ({n} words)" for k, n in SIZES.items()),
    )
    p.add_argument("--methods", default=",".join(METHODS), help="comma list of explanation methods")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads for the main runs (default: torch's)",
    )
    p.add_argument("--no-profile", action="store_true", help="skip the profile section")
    p.add_argument(
        "--no-threads-study", action="store_true", help="skip the set_num_threads comparison"
    )
    p.add_argument("--seed", type=int, default=0, help="the order the variants are timed in")
    p.add_argument("--out", default=None, help="default: benchmarks/results/latency.json")
    args = p.parse_args(argv)
    args.sizes = [s for s in args.sizes.split(",") if s]
    args.methods = [m for m in args.methods.split(",") if m]
    if args.out is None:
        args.out = str(default_out("latency"))
    return args


# ------------------------------------------------------------------------------------------
# inputs and model


def make_texts() -> dict[str, str]:
    """Deterministic texts of 10, 40 and 200 words from the bundled sample's snippets."""
    import csv

    with open(
        REPO_ROOT / "training" / "sample" / "vader_amazon.csv", encoding="utf-8", newline=""
    ) as fh:
        snippets = [row["text"] for row in csv.DictReader(fh)]
    words: list[str] = []
    for s in snippets:
        words.extend(s.split())
        if len(words) >= max(SIZES.values()):
            break
    return {name: " ".join(words[:n]) for name, n in SIZES.items()}


def load_classifier(ref: str | None):
    """(Classifier, model_dir, description). Without ``ref``: fresh head, saved to a temp dir
    and loaded back through ``Classifier.load`` exactly like a served version."""
    from classifier import Classifier, ModelStore
    from classifier.cli_support import model_dir

    if ref:
        clf = Classifier.load(ref, store=ModelStore(model_dir()), device="cpu")
        return clf, ModelStore(model_dir()).resolve(ref).path, f"fine-tuned model {ref}"
    from classifier.base_model import resolve_base_model
    from classifier.cli_support import base_model
    from training.finetune import load_base

    tmp = Path(tempfile.mkdtemp(prefix="heed-latency-model-"))
    model, tokenizer = load_base(
        resolve_base_model(base_model()), ["negative", "neutral", "positive"]
    )
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    clf = Classifier.load(str(tmp), store=ModelStore(tmp), device="cpu")
    return (
        clf,
        tmp,
        "embedded all-MiniLM-L6-v2 + freshly initialised 3-class head "
        "(weights do not affect latency)",
    )


# ------------------------------------------------------------------------------------------
# the seed article's approach


class SeedApproach:
    """Eager model + output_attentions on every call, max_length padding, default matplotlib."""

    def __init__(self, model_dir: Path, labels: list[str]):
        from transformers import AutoTokenizer, BertForSequenceClassification

        self.model = BertForSequenceClassification.from_pretrained(
            model_dir, attn_implementation="eager", local_files_only=True
        ).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.labels = labels

    def _encode(self, text: str):
        return self.tokenizer(
            text,
            padding="max_length",
            max_length=SEED_MAX_LENGTH,
            truncation=True,
            return_tensors="pt",
        )

    def predict(self, text: str):
        import torch

        enc = self._encode(text)
        with torch.no_grad():
            out = self.model(**enc, output_attentions=True)
        probs = out.logits[0].softmax(-1)
        return self.labels[int(probs.argmax())], float(probs.max())

    def explain(self, text: str, method: str):
        import torch

        from classifier.explain import attention_rollout, integrated_gradients, last_layer_attention

        enc = self._encode(text)
        with torch.no_grad():
            out = self.model(**enc, output_attentions=True)
        attentions = [a[0] for a in out.attentions]
        probs = out.logits[0].softmax(-1)
        target = int(probs.argmax())
        n = int(enc["attention_mask"].sum())
        if method == "attention":
            scores = last_layer_attention(attentions)
        elif method == "rollout":
            scores = attention_rollout(attentions)
        else:
            ids = enc["input_ids"]
            baseline = torch.full_like(ids, self.tokenizer.pad_token_id)
            baseline[0, 0], baseline[0, n - 1] = ids[0, 0], ids[0, n - 1]
            scores = integrated_gradients(
                self.model, ids, enc["attention_mask"], target, baseline, 16
            )
        tokens = self.tokenizer.convert_ids_to_tokens(enc["input_ids"][0][:n])
        weights = scores[:n].clamp(min=0).tolist()
        return tokens, weights, self.labels[target], float(probs[target])

    @staticmethod
    def render(tokens, weights, label, confidence) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure()  # default size and dpi
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        image = ax.imshow([weights], cmap="YlOrRd", aspect="auto")
        ax.set_xticks(range(len(tokens)), tokens, rotation=90)
        ax.set_yticks([])
        ax.set_title(f"{label} ({confidence:.0%})")
        fig.colorbar(image, ax=ax, orientation="horizontal")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def classify(self, text: str, method: str) -> bytes:
        return self.render(*self.explain(text, method))


# ------------------------------------------------------------------------------------------
# measurement


def interleaved(
    variants: dict, reps: int, warmup: int, rng: random.Random
) -> dict[str, list[float]]:
    """Call each variant ``reps`` times, in a shuffled order within every round."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for _ in range(reps):
        rng.shuffle(names)
        for name in names:
            cpu = time.process_time()
            start = time.perf_counter()
            variants[name]()
            samples[name].append(time.perf_counter() - start)
            CPU_SAMPLES.setdefault(id(samples[name]), []).append(time.process_time() - cpu)
    return samples


# CPU seconds this process used per timed call, keyed by the id of the wall-time list. With one
# torch thread, CPU time is close to what the call would take on an idle core: it separates the
# code's cost from the time spent waiting for the neighbours' processes on a shared machine.
CPU_SAMPLES: dict[int, list[float]] = {}


def summarise_with_cpu(samples: list[float]) -> dict:
    out = summarise(samples)
    cpu = CPU_SAMPLES.get(id(samples))
    if cpu:
        out["cpu_p50_ms"] = percentile(cpu, 50) * 1e3
    return out


def project_classify(clf, text: str, method: str, parts: dict | None = None) -> bytes:
    from classifier import heatmap

    t0 = time.perf_counter()
    explanation = clf.explain(text, method)
    t1 = time.perf_counter()
    png = heatmap.render(explanation)
    if parts is not None:
        parts.setdefault("explain", []).append(t1 - t0)
        parts.setdefault("render", []).append(time.perf_counter() - t1)
    return png


def profile_path(clf, texts: dict[str, str]) -> dict:
    """cProfile of explain+render (medium text) per method, and torch.profiler operators."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    out: dict = {}
    text = texts["medium"]
    for method in ("attention", "gradient"):
        reps = 20 if method != "gradient" else 3
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(reps):
            project_classify(clf, text, method)
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).sort_stats("cumulative")
        stats.print_stats(18)
        total = sum(v[3] for k, v in stats.stats.items() if k[2] == "project_classify") / reps
        # Where the time goes inside classifier/ (whatever its functions are called), plus
        # captum's IG entry point: read off the profile, not from private names of the package.
        focus = {}
        for (fname, _, func), value in stats.stats.items():
            if Path(fname).resolve().is_relative_to(CLASSIFIER_DIR) or func == "attribute":
                focus[f"{Path(fname).name}:{func}"] = round(value[3] / reps * 1e3, 2)
        focus = dict(sorted(focus.items(), key=lambda kv: -kv[1])[:15])
        out[f"cprofile_{method}_medium"] = {
            "per_call_ms": round(total * 1e3, 2),
            "cumulative_ms_per_call": focus,
            "top": stream.getvalue().splitlines()[:45],
        }
    # Operator view of the eager forward for one explain (attention, medium).
    with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
        for _ in range(10):
            clf.explain(text, "attention")
    table_text = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    out["torch_profiler_explain_attention_medium_x10"] = table_text.splitlines()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        clf.explain(text, "gradient")
    out["torch_profiler_explain_gradient_medium_x1"] = (
        prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12).splitlines()
    )
    out["torch_threads"] = torch.get_num_threads()
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from classifier import heatmap

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    texts = make_texts()
    load_start = time.perf_counter()
    clf, model_dir, model_desc = load_classifier(args.model)
    load_s = time.perf_counter() - load_start
    seed = SeedApproach(model_dir, clf.labels)
    token_counts = {name: len(clf.tokenizer(t)["input_ids"]) for name, t in texts.items()}

    cold_start = time.perf_counter()
    heatmap.render(clf.explain(texts["medium"], "attention"))  # eager twin + fonts are lazy
    cold_s = time.perf_counter() - cold_start

    payload: dict = {
        "benchmark": "latency",
        "hardware": hardware(),
        "model": model_desc,
        "model_load_s": round(load_s, 2),
        "first_classify_cold_ms": round(cold_s * 1e3, 1),
        "texts": {
            k: {"words": SIZES[k], "tokens": token_counts[k], "text": v} for k, v in texts.items()
        },
        "seed_approach": "eager + output_attentions=True every call, padding=max_length 128, "
        "default matplotlib Figure imshow per call",
        "goals_ms_p50_at_medium": GOALS_MS,
        "classify": {},
        "predict": {},
        "render": {},
    }

    def save() -> None:
        write_json(args.out, payload)

    print(
        f"[latency] model: {model_desc}; torch threads {torch.get_num_threads()}", file=sys.stderr
    )
    if not args.no_profile:
        print("[latency] profiling the real path ...", file=sys.stderr, flush=True)
        payload["profile"] = profile_path(clf, texts)
        save()

    # ---- /classify: explain + render, per size and method ----
    for size in args.sizes:
        text = texts[size]
        for method in args.methods:
            reps = args.gradient_reps if method == "gradient" else args.reps
            parts: dict = {}
            variants = {"heed": lambda t=text, m=method, p=parts: project_classify(clf, t, m, p)}
            if method in SEED_METHODS:
                variants["seed"] = lambda t=text, m=method: seed.classify(t, m)
            warm = 1 if method == "gradient" else args.warmup
            samples = interleaved(variants, reps, warm, rng)
            heed = summarise_with_cpu(samples["heed"])
            entry = {
                "heed": heed,
                "heed_explain": summarise(parts["explain"][warm:]),
                "heed_render": summarise(parts["render"][warm:]),
            }
            if "seed" in samples:
                base = summarise_with_cpu(samples["seed"])
                entry.update(seed=base, speedup_p50=base["p50_ms"] / heed["p50_ms"])
            payload["classify"][f"{size}/{method}"] = entry
            print(
                f"[latency] {size:6s} {method:9s} heed p50 {heed['p50_ms']:.1f} ms"
                + (f", seed p50 {entry['seed']['p50_ms']:.1f} ms" if "seed" in entry else ""),
                file=sys.stderr,
                flush=True,
            )
            save()

    # ---- predict only, and the heatmap render alone ----
    for size in args.sizes:
        text = texts[size]
        samples = interleaved(
            {"heed": lambda t=text: clf.predict([t]), "seed": lambda t=text: seed.predict(t)},
            args.reps,
            args.warmup,
            rng,
        )
        heed, base = summarise_with_cpu(samples["heed"]), summarise_with_cpu(samples["seed"])
        payload["predict"][size] = {
            "heed": heed,
            "seed": base,
            "speedup_p50": base["p50_ms"] / heed["p50_ms"],
        }
        explanation = clf.explain(text, "attention")
        seed_expl = seed.explain(text, "attention")
        samples = interleaved(
            {
                "heed": lambda e=explanation: heatmap.render(e),
                "seed": lambda e=seed_expl: seed.render(*e),
            },
            args.reps,
            args.warmup,
            rng,
        )
        heed, base = summarise_with_cpu(samples["heed"]), summarise_with_cpu(samples["seed"])
        payload["render"][size] = {
            "heed": heed,
            "seed": base,
            "speedup_p50": base["p50_ms"] / heed["p50_ms"],
            "heed_png_bytes": len(heatmap.render(explanation)),
            "seed_png_bytes": len(seed.render(*seed_expl)),
        }
        save()

    # ---- does torch.set_num_threads matter? ----
    if not args.no_threads_study:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        default_threads = torch.get_num_threads()
        study: dict = {"cores": cores, "default_threads": default_threads}
        counts = sorted({1, cores, default_threads})
        text = texts["medium"]

        def with_threads(n, fn):
            def call():
                torch.set_num_threads(n)
                fn()

            return call

        for what, fn in {
            "attention_classify": lambda: project_classify(clf, text, "attention"),
            "predict": lambda: clf.predict([text]),
            "gradient_classify": lambda: project_classify(clf, text, "gradient"),
        }.items():
            reps = max(4, args.gradient_reps // 2) if what.startswith("gradient") else args.reps
            samples = interleaved({f"{n}": with_threads(n, fn) for n in counts}, reps, 1, rng)
            study[what] = {f"threads={n}": summarise_with_cpu(samples[f"{n}"]) for n in counts}
        torch.set_num_threads(default_threads)
        payload["threads_study"] = study
        save()

    # ---- the table ----
    rows = []
    for key, r in payload["classify"].items():
        size, method = key.split("/")
        goal = GOALS_MS.get(method) if size == "medium" else None
        ok = "" if goal is None else (" ✓" if r["heed"]["p50_ms"] <= goal else " ✗")
        seed_cells = (
            [f"{r['seed']['p50_ms']:.1f}", f"{r['seed']['p95_ms']:.1f}", f"{r['speedup_p50']:.1f}x"]
            if "seed" in r
            else ["—", "—", "—"]
        )
        rows.append(
            [
                f"classify {method}",
                f"{size} ({SIZES[size]}w/{token_counts[size]}t)",
                f"{r['heed']['p50_ms']:.1f}{ok}",
                f"{r['heed']['p95_ms']:.1f}",
                f"{r['heed_explain']['p50_ms']:.1f} + {r['heed_render']['p50_ms']:.1f}",
                f"{r['heed'].get('cpu_p50_ms', float('nan')):.1f}",
                *seed_cells,
            ]
        )
    for size, r in payload["predict"].items():
        rows.append(
            [
                "predict only",
                f"{size} ({SIZES[size]}w/{token_counts[size]}t)",
                f"{r['heed']['p50_ms']:.1f}",
                f"{r['heed']['p95_ms']:.1f}",
                "",
                f"{r['heed'].get('cpu_p50_ms', float('nan')):.1f}",
                f"{r['seed']['p50_ms']:.1f}",
                f"{r['seed']['p95_ms']:.1f}",
                f"{r['speedup_p50']:.1f}x",
            ]
        )
    for size, r in payload["render"].items():
        ok = (
            (" ✓" if r["heed"]["p50_ms"] <= GOALS_MS["render"] else " ✗")
            if size == "medium"
            else ""
        )
        rows.append(
            [
                "heatmap render",
                f"{size} ({SIZES[size]}w/{token_counts[size]}t)",
                f"{r['heed']['p50_ms']:.1f}{ok}",
                f"{r['heed']['p95_ms']:.1f}",
                "",
                f"{r['heed'].get('cpu_p50_ms', float('nan')):.1f}",
                f"{r['seed']['p50_ms']:.1f}",
                f"{r['seed']['p95_ms']:.1f}",
                f"{r['speedup_p50']:.1f}x",
            ]
        )
    payload["table"] = table(
        [
            "what",
            "text",
            "heed p50 ms",
            "heed p95 ms",
            "explain + render p50",
            "heed CPU p50 ms",
            "seed p50 ms",
            "seed p95 ms",
            "seed/heed p50",
        ],
        rows,
    )
    if "threads_study" in payload:
        st = payload["threads_study"]
        trows = []
        for what in ("attention_classify", "predict", "gradient_classify"):
            trows.append([what + " (medium)"] + [f"{v['p50_ms']:.1f}" for v in st[what].values()])
        payload["threads_table"] = table(["p50 ms", *st["attention_classify"].keys()], trows)
    save()
    print(f"wrote {args.out}")
    print(
        f"model: {model_desc}; torch threads {torch.get_num_threads()}; goals at medium: "
        "attention/rollout/attn-grad <= 60 ms, gradient <= 1000 ms, render <= 25 ms (✓/✗)"
    )
    if "threads_table" in payload:
        print(payload["threads_table"])
    print(payload["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
