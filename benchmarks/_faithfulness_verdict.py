"""The verdict of benchmarks/faithfulness.py: its selection and report splits, which method is
as faithful as integrated gradients and within budget, and the results table.

A method is as faithful as integrated gradients (``gradient``, the reference) when, on every
dataset, its comprehensiveness AOPC is within ``COMP_TOLERANCE`` of IG's and its sufficiency
AOPC is no worse. The default is chosen on the selection split; every method is then checked
with the same rule on the report split, whose rows the choice never saw.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from _common import stratified_subsample, table

BINS = (1, 5, 10, 20, 50)
REFERENCE = "gradient"
COMP_TOLERANCE = 0.02
LATENCY_GOAL_MS = 60.0
"""The default's budget: p50 of one /classify of a 40-word text (issue 25)."""
SPLITS = ("selection", "report")


def split_rows(eligible: list, n: int, seed: int) -> dict[str, list]:
    """Two disjoint stratified draws of ``n`` rows: ``selection`` first, then ``report`` from
    the rows whose text is not in the selection (datasets repeat some texts)."""
    selection = stratified_subsample(eligible, min(n, len(eligible)), seed)
    taken = {r.text for r in selection}
    rest = [r for r in eligible if r.text not in taken]
    return {"selection": selection, "report": stratified_subsample(rest, min(n, len(rest)), seed)}


def latency_budget(path: str) -> dict:
    """p50 /classify at 40 words per method from latency.py's JSON, if present."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    wall = {
        key.split("/", 1)[1]: entry["heed"]["p50_ms"]
        for key, entry in data.get("classify", {}).items()
        if key.startswith("medium/")
    }
    hw = data.get("hardware", {})
    return {
        "source": path,
        "date": hw.get("date"),
        "torch_threads": hw.get("torch_threads"),
        "load_average_at_start": hw.get("load_average_at_start"),
        "p50_ms_medium": wall,
    }


def result_methods(results: list[dict]) -> list[str]:
    """The explanation methods every dataset was scored with, in run order (no random)."""
    names = [m for m in results[0]["methods"] if m != "random"]
    return [m for m in names if all(m in r["methods"] for r in results)]


def split_of(result: dict) -> str:
    """The split a dataset's result was measured on (runs before the splits had one)."""
    return result.get("split", "selection")


def verdicts_on(results: list[dict], latency: dict) -> dict[str, dict]:
    """Per method: its comprehensiveness and sufficiency gaps to ``gradient`` per dataset,
    whether it is as faithful (comprehensiveness within ``COMP_TOLERANCE``, sufficiency no
    worse, on every dataset) and its cost: p50 /classify at 40 words from latency.py when it
    measured the method, else this run's mean explain time."""
    ref = {d["dataset"]: d["methods"][REFERENCE] for d in results}
    wall = latency.get("p50_ms_medium", {})
    verdicts = {}
    for m in result_methods(results):
        gaps = {
            d["dataset"]: {
                "comp_gap": ref[d["dataset"]]["comp"]["aopc"] - d["methods"][m]["comp"]["aopc"],
                "suff_gap": d["methods"][m]["suff"]["aopc"] - ref[d["dataset"]]["suff"]["aopc"],
            }
            for d in results
        }
        ok = all(g["comp_gap"] <= COMP_TOLERANCE and g["suff_gap"] <= 0.0 for g in gaps.values())
        if m in wall:
            ms, basis = wall[m], "latency.py p50 /classify, 40 words"
        else:
            ms = statistics.fmean(d["methods"][m]["explain_ms_mean"] for d in results)
            basis = "this run's mean explain time"
        verdicts[m] = {"as_faithful_as_ig": ok, "cost_ms": round(ms, 1), "cost_basis": basis}
        verdicts[m].update(gaps=gaps)
    return verdicts


def recommend(results: list[dict], latency: dict) -> dict:
    """Chosen on the selection split: the cheapest method as faithful as integrated gradients
    (see :func:`verdicts_on`), and those of them within ``LATENCY_GOAL_MS``; then whether each
    method meets the same rule on the report split."""
    selection = [r for r in results if split_of(r) == "selection"]
    verdicts = verdicts_on(selection, latency)
    faithful = [m for m, v in verdicts.items() if v["as_faithful_as_ig"]]
    best = min(faithful, key=lambda m: verdicts[m]["cost_ms"])
    reason = (
        f"{best}: the cheapest ({verdicts[best]['cost_ms']:.0f} ms, "
        f"{verdicts[best]['cost_basis']}) of the methods whose comprehensiveness AOPC is within "
        f"{COMP_TOLERANCE} of {REFERENCE}'s and whose sufficiency is no worse on every dataset "
        f"({', '.join(faithful)})"
    )
    comp_only = [
        m
        for m in verdicts
        if all(g["comp_gap"] <= COMP_TOLERANCE for g in verdicts[m]["gaps"].values())
    ]
    cheapest = min(comp_only, key=lambda m: verdicts[m]["cost_ms"])
    if cheapest != best:
        worst = max(verdicts[cheapest]["gaps"].items(), key=lambda kv: kv[1]["suff_gap"])
        reason += (
            f"; on comprehensiveness alone {cheapest} qualifies at "
            f"{verdicts[cheapest]['cost_ms']:.0f} ms, but its sufficiency is worse by "
            f"{worst[1]['suff_gap']:.3f} on {worst[0]}"
        )
    candidates = [m for m in faithful if verdicts[m]["cost_ms"] <= LATENCY_GOAL_MS]
    reason += (
        f"; within {LATENCY_GOAL_MS:.0f} ms: "
        + (", ".join(sorted(candidates, key=lambda m: verdicts[m]["cost_ms"])) or "none")
        + " (chosen on the selection split)"
    )
    report = [r for r in results if split_of(r) == "report"]
    return {
        "method": best,
        "cheapest_on_comprehensiveness": cheapest,
        "default_candidates": candidates,
        "reason": reason,
        "verdicts": verdicts,
        "report_check": verdicts_on(report, latency) if report else {},
    }


def render_table(payload: dict) -> str:
    rows = []
    for r in payload["results"]:
        for method in (*result_methods(payload["results"]), "random"):
            m = r["methods"][method]
            rows.append(
                [
                    f"{r['dataset']} {split_of(r)} "
                    f"(n={r['n']}, acc {r['model_accuracy_on_these_rows']:.0%})",
                    method,
                    f"{m['comp']['aopc']:.3f} ± {m['comp']['aopc_se']:.3f}",
                    f"{m['suff']['aopc']:.3f} ± {m['suff']['aopc_se']:.3f}",
                    " / ".join(f"{m['comp']['by_pct'][str(p)]:.2f}" for p in BINS),
                    f"{m['explain_ms_mean']:.0f}" if "explain_ms_mean" in m else "—",
                ]
            )
    return table(
        [
            "dataset",
            "method",
            "comprehensiveness AOPC ↑ (± SE)",
            "sufficiency AOPC ↓ (± SE)",
            "comp at 1/5/10/20/50 %",
            "explain ms (wall, mean)",
        ],
        rows,
    )
