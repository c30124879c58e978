"""What the active-learning benchmark reports: the per-round mean ± std of its runs, the
verdict per uncertainty score, the markdown tables and the accuracy-vs-labels plot.

``summarise`` and ``tables`` are pure (tested in ``tests/benchmarks/test_al_report.py``);
``plot`` draws with matplotlib's Agg canvas (no display needed).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from _common import table
from _selection import mean_std, verdict

NAMES = {"sst2": "SST-2 (GLUE dev)", "banking77": "banking77 (test)"}
COLOURS = {"random": "#7f7f7f", "margin": "#d95f02", "entropy": "#1b9e77"}


def summarise(runs: list[dict], scores: list[str]) -> dict:
    """Per dataset and strategy: the labels axis, mean and std accuracy per round over the
    finished runs, and ``seeds``; per uncertainty score with a random counterpart, the
    :func:`~_selection.verdict`. Raises ``ValueError`` if runs of one strategy disagree on
    the labels axis."""
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        grouped[run["dataset"]][run["strategy"]].append(run)
    summary: dict = {}
    for dataset, by_strategy in grouped.items():
        curves = {}
        for strategy, found in by_strategy.items():
            axis = found[0]["labels"]
            if any(run["labels"] != axis for run in found):
                raise ValueError(f"{dataset} {strategy}: runs disagree on the label counts")
            columns = list(zip(*(run["accuracy"] for run in found), strict=True))
            stats = [mean_std(list(column)) for column in columns]
            curves[strategy] = {
                "labels": axis,
                "mean": [m for m, _ in stats],
                "std": [s for _, s in stats],
                "seeds": sorted(run["seed"] for run in found),
            }
        verdicts = {}
        base = curves.get("random")
        for score in scores:
            curve = curves.get(score)
            if base and curve and base["labels"] == curve["labels"]:
                verdicts[score] = {
                    **verdict(curve["labels"], curve["mean"], base["mean"]),
                    "seeds": sorted(set(base["seeds"]) & set(curve["seeds"])),
                }
        summary[dataset] = {"curves": curves, "verdicts": verdicts}
    return summary


def tables(summary: dict) -> str:
    """One markdown table per dataset (labels x strategy, mean ± std accuracy %), each
    followed by its verdict lines."""
    parts = []
    for dataset, entry in summary.items():
        curves = entry["curves"]
        strategies = [s for s in ("random", "margin", "entropy") if s in curves]
        axis = curves[strategies[0]]["labels"]
        rows = []
        for i, count in enumerate(axis):
            row: list[object] = [count]
            for strategy in strategies:
                curve = curves[strategy]
                row.append(f"{curve['mean'][i]:.2f} ± {curve['std'][i]:.2f}")
            rows.append(row)
        headers = ["labels"] + [f"{s} ({len(curves[s]['seeds'])} runs)" for s in strategies]
        parts.append(f"{NAMES.get(dataset, dataset)}\n\n{table(headers, rows)}")
        parts.extend(f"{score}: {v['text']}" for score, v in entry["verdicts"].items())
    return "\n\n".join(parts)


def plot(summary: dict, path: str | Path) -> Path:
    """Accuracy vs labels, one panel per dataset, mean line and ± std band per strategy."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * max(1, len(summary)), 4.2), dpi=110)
    FigureCanvasAgg(figure)
    for k, (dataset, entry) in enumerate(summary.items(), start=1):
        axes = figure.add_subplot(1, len(summary), k)
        for strategy, curve in entry["curves"].items():
            low = [m - s for m, s in zip(curve["mean"], curve["std"], strict=True)]
            high = [m + s for m, s in zip(curve["mean"], curve["std"], strict=True)]
            colour = COLOURS.get(strategy)
            axes.plot(
                curve["labels"],
                curve["mean"],
                marker="o",
                color=colour,
                label=f"{strategy} ({len(curve['seeds'])} runs)",
            )
            axes.fill_between(curve["labels"], low, high, color=colour, alpha=0.2)
        base = entry["curves"].get("random")
        if base:
            axes.axhline(base["mean"][-1], color="#7f7f7f", linestyle=":", linewidth=1)
        axes.set_title(NAMES.get(dataset, dataset))
        axes.set_xlabel("labelled rows")
        axes.set_ylabel("test accuracy (%)")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
