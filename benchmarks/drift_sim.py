"""Drift alerts in simulation: weeks until an alert after the label mix shifts, and false alerts
over a year without a shift (issue 24's goals), with the check the bot runs (``bot/drift.py``:
daily, the last 7 days against the serving version's held-out reference, ``classifier.drift``).

The simulated model has three labels. Its held-out reference is drawn as training draws it:
``--reference-rows`` predictions (740: the bundled sample's held-out split). Traffic is Poisson
with ``--volumes`` messages a day; each message draws a label from the mix of the day and a
calibrated top confidence ``1/3 + 2/3 * Beta(a, b)`` from its label's distribution. At day 0
of week 1 the mix moves ``--shifts`` points from the commonest label to the second rarest (a
label shift: confidences per label do not change, so the confidence histogram moves only
through the mix). An alert is a day whose check finds either index drifted
(``classifier.drift.drifted``: past the floor and past sampling noise), at most one a week,
as the bot sends them.

The floor (``HEED_DRIFT_PSI``, the smallest shift worth a message) is chosen on the selection
seeds: among the ``--floors`` with no false alert at any volume, the largest of those that
miss the fewest runs of the smallest of ``--shifts`` within ``--shift-weeks``; the figures are
reported on the separate report seeds.

Usage::

    python benchmarks/drift_sim.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import Counter, deque

import _common  # noqa: F401  (sys.path, env defaults)
from _common import default_out, hardware, table, write_json

from classifier.drift import (
    CONFIDENCE_BINS,
    confidence_bin,
    confidence_shares,
    drifted,
    label_shares,
    psi,
)

LABELS = ("negative", "neutral", "positive")
MIX = (0.33, 0.20, 0.47)
BETA = {"negative": (5.0, 2.0), "neutral": (2.0, 3.0), "positive": (6.0, 2.0)}
WINDOW_DAYS = 7


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--volumes", default="30,150,1000", help="messages a day, comma list")
    p.add_argument("--shifts", default="10,30", help="points of label mix moved, comma list")
    p.add_argument(
        "--floors",
        default="0.02,0.03,0.05,0.075,0.1,0.15,0.2,0.25",
        help="comma list of HEED_DRIFT_PSI candidates",
    )
    p.add_argument(
        "--reference-rows", type=int, default=740, help="held-out rows behind a version's reference"
    )
    p.add_argument("--weeks", type=int, default=52, help="weeks simulated without a shift")
    p.add_argument("--shift-weeks", type=int, default=12, help="weeks watched after a shift")
    p.add_argument("--selection-seeds", type=int, default=10, help="seeds the floor is chosen on")
    p.add_argument(
        "--report-seeds", type=int, default=20, help="other seeds the figures are reported on"
    )
    p.add_argument("--out", default=str(default_out("drift_sim")), help="JSON results file")
    args = p.parse_args(argv)
    args.volumes = [int(v) for v in args.volumes.split(",")]
    args.shifts = [int(s) for s in args.shifts.split(",")]
    args.floors = [float(f) for f in args.floors.split(",")]
    return args


def shifted(points: int) -> tuple[float, ...]:
    """The mix with ``points`` moved from the commonest label to the second rarest."""
    mix = list(MIX)
    mix[2] -= points / 100
    mix[1] += points / 100
    return tuple(mix)


def draw(rng: random.Random, mix: tuple[float, ...], n: int) -> list[tuple[str, float]]:
    """``n`` predictions: a label from ``mix``, its calibrated top confidence."""
    out = []
    for label in rng.choices(LABELS, weights=mix, k=n):
        a, b = BETA[label]
        out.append((label, 1 / 3 + 2 / 3 * rng.betavariate(a, b)))
    return out


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above 50, Knuth's method below)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def daily_indices(
    seed: int, volume: int, shift: int, weeks: int, reference_rows: int
) -> list[tuple[int, float, float]]:
    """Each day's check (counted from the shift, or from the start without one): the window's
    rows and both indices; a week of clean traffic precedes day 0 so the first window is full.
    The series does not depend on the floor, so every floor is judged on the same draws."""
    rng = random.Random(seed * 1_000_003 + volume * 7 + shift)
    ref = draw(rng, MIX, reference_rows)
    ref_labels = label_shares([label for label, _ in ref], LABELS)
    ref_conf = confidence_shares([c for _, c in ref])
    window: deque[tuple[Counter[str], Counter[int]]] = deque(maxlen=WINDOW_DAYS)

    def day(mix: tuple[float, ...]) -> tuple[Counter[str], Counter[int]]:
        rows = draw(rng, mix, poisson(rng, volume))
        return Counter(label for label, _ in rows), Counter(confidence_bin(c) for _, c in rows)

    for _ in range(WINDOW_DAYS):
        window.append(day(MIX))
    mix = shifted(shift) if shift else MIX
    series = []
    for _ in range(weeks * 7):
        window.append(day(mix))
        labels = sum((d[0] for d in window), Counter())
        bins = sum((d[1] for d in window), Counter())
        n = sum(labels.values())
        shares = [labels[label] / n if n else 0.0 for label in LABELS]
        conf = [bins[b] / n if n else 0.0 for b in range(CONFIDENCE_BINS)]
        series.append(
            (n, psi(ref_labels, shares, reference_rows, n), psi(ref_conf, conf, reference_rows, n))
        )
    return series


def alert_days(
    series: list[tuple[int, float, float]], floor: float, reference_rows: int
) -> list[int]:
    """The days an alert goes out: either index drifted, at most one alert a week."""
    alerts, last_week = [], None
    for day, (n, on_labels, on_conf) in enumerate(series):
        hit = drifted(on_labels, len(LABELS), n, reference_rows, floor) or drifted(
            on_conf, CONFIDENCE_BINS, n, reference_rows, floor
        )
        if hit and last_week != day // 7:
            alerts.append(day)
            last_week = day // 7
    return alerts


class Runs:
    """The daily series of every (seed, volume, shift) asked for, computed once."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._cache: dict[tuple[int, int, int], list[tuple[int, float, float]]] = {}

    def series(self, seed: int, volume: int, shift: int) -> list[tuple[int, float, float]]:
        key = (seed, volume, shift)
        if key not in self._cache:
            weeks = self.args.shift_weeks if shift else self.args.weeks
            self._cache[key] = daily_indices(seed, volume, shift, weeks, self.args.reference_rows)
        return self._cache[key]

    def false_alerts(self, seeds, volume: int, floor: float) -> int:
        ref = self.args.reference_rows
        return sum(len(alert_days(self.series(s, volume, 0), floor, ref)) for s in seeds)

    def weeks_to_alert(self, seeds, volume: int, shift: int, floor: float) -> list[float | None]:
        out = []
        for s in seeds:
            days = alert_days(self.series(s, volume, shift), floor, self.args.reference_rows)
            out.append((days[0] + 1) / 7 if days else None)
        return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selection = range(args.selection_seeds)
    report = range(1000, 1000 + args.report_seeds)
    runs = Runs(args)
    scan = []
    smallest = min(args.shifts)
    for floor in sorted(args.floors):
        false = {v: runs.false_alerts(selection, v, floor) for v in args.volumes}
        missed = {
            v: runs.weeks_to_alert(selection, v, smallest, floor).count(None) for v in args.volumes
        }
        scan.append({"floor": floor, "false_alerts": false, f"missed_{smallest}_points": missed})
        print(f"[drift_sim] floor {floor}: false alerts {false}, missed {missed}", file=sys.stderr)
    quiet = [e for e in scan if not any(e["false_alerts"].values())] or scan[-1:]
    fewest = min(sum(e[f"missed_{smallest}_points"].values()) for e in quiet)
    chosen = max(
        e["floor"] for e in quiet if sum(e[f"missed_{smallest}_points"].values()) == fewest
    )
    rows, results = [], []
    for volume in args.volumes:
        false = runs.false_alerts(report, volume, chosen)
        entry = {"volume": volume, "false_alerts": false, "weeks": {}}
        cells = []
        for shift in args.shifts:
            weeks = runs.weeks_to_alert(report, volume, shift, chosen)
            found = [w for w in weeks if w is not None]
            entry["weeks"][shift] = {
                "median": statistics.median(found) if found else None,
                "max": max(found) if found else None,
                "detected": len(found),
                "runs": len(weeks),
            }
            cells.append(
                f"{statistics.median(found):.1f} (max {max(found):.1f}, {len(found)}/{len(weeks)})"
                if found
                else f"none in {args.shift_weeks} weeks (0/{len(weeks)})"
            )
        results.append(entry)
        weeks_run = len(report) * args.weeks
        rows.append([volume, *cells, f"{false} in {weeks_run} weeks"])
    payload = {
        "hardware": hardware(),
        "args": vars(args),
        "chosen_floor": chosen,
        "selection_scan": scan,
        "report": results,
    }
    write_json(args.out, payload)
    print(f"floor chosen on {len(selection)} selection seeds: {chosen}")
    headers = [
        "messages/day",
        *(f"weeks to alert, {s}-point shift" for s in args.shifts),
        "false alerts",
    ]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
