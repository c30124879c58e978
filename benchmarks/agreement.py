"""How close Heed's agreement figures come to the truth: a simulated team of three labelers
with known error rates labels items; the figures ``bot.agreement`` reports (pairwise Cohen's
kappa, Fleiss' kappa, each label's specific agreement) are compared with their population
values, computed exactly from the error rates, after 100, 300 and 1,000 items.

Each item's true label is drawn from ``--prior``; labeler i gives it with probability
1 - e_i, else one of the other labels uniformly. Two designs: ``pair`` (as ``HEED_DOUBLE_LABEL``
asks: two labelers drawn at random answer each item) and ``all`` (all three answer each).
Each cell is over ``--seeds`` simulated teams: the mean and the 95th percentile of the
absolute error. Pure Python and scikit-learn; a few seconds.

    python benchmarks/agreement.py [--errors 0.05 0.15 0.3] [--seeds 50]
"""

from __future__ import annotations

import argparse
import random
import sys
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import default_out, hardware, percentile, table, write_json

SIZES = (100, 300, 1000)


def answer_probability(error: float, said: int, true: int, k: int) -> float:
    """P(a labeler with ``error`` says ``said`` | the label is ``true``), of ``k`` labels."""
    return 1 - error if said == true else error / (k - 1)


def truth(prior: list[float], errors: list[float]) -> dict[str, float]:
    """The population values of each pair's kappa, Fleiss' kappa (pairs equally likely) and
    each label's specific agreement."""
    k = len(prior)
    said = [
        [sum(p * answer_probability(e, s, t, k) for t, p in enumerate(prior)) for s in range(k)]
        for e in errors
    ]

    def both(i: int, j: int, s: int) -> float:
        return sum(
            p * answer_probability(errors[i], s, t, k) * answer_probability(errors[j], s, t, k)
            for t, p in enumerate(prior)
        )

    pairs = list(combinations(range(len(errors)), 2))
    out: dict[str, float] = {}
    for i, j in pairs:
        observed = sum(both(i, j, s) for s in range(k))
        chance = sum(said[i][s] * said[j][s] for s in range(k))
        out[f"kappa L{i + 1}-L{j + 1}"] = (observed - chance) / (1 - chance)
    observed = sum(sum(both(i, j, s) for s in range(k)) for i, j in pairs) / len(pairs)
    pooled = [sum(said[i][s] for i in range(len(errors))) / len(errors) for s in range(k)]
    chance = sum(q * q for q in pooled)
    out["fleiss"] = (observed - chance) / (1 - chance)
    for s in range(k):
        agree = sum(2 * both(i, j, s) for i, j in pairs)
        out[f"label {s} agreement"] = agree / sum(said[i][s] + said[j][s] for i, j in pairs)
    return out


def simulate(
    prior: list[float], errors: list[float], n: int, design: str, rng: random.Random
) -> list[tuple[int, str, str]]:
    """``n`` items' answers as the bot stores them: ``(item, labeler, label)``."""
    k, team = len(prior), range(len(errors))
    ratings = []
    for item in range(n):
        true = rng.choices(range(k), prior)[0]
        who = rng.sample(team, 2) if design == "pair" else list(team)
        for i in who:
            said = true
            if rng.random() < errors[i]:
                said = rng.choice([s for s in range(k) if s != true])
            ratings.append((item, f"L{i + 1}", str(said)))
    return ratings


def estimates(ratings: list[tuple[int, str, str]]) -> dict[str, float | None]:
    """The figures ``bot.agreement`` reports, named as :func:`truth` names them."""
    from bot.agreement import agreement

    found = agreement(ratings)
    out: dict[str, float | None] = {f"kappa {p.first}-{p.second}": p.kappa for p in found.pairs}
    out["fleiss"] = found.fleiss
    out |= {f"label {x.label} agreement": x.agreement for x in found.labels}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--errors",
        type=float,
        nargs="+",
        default=[0.05, 0.15, 0.3],
        help="the three labelers' error rates",
    )
    parser.add_argument(
        "--prior",
        type=float,
        nargs="+",
        default=[0.4, 0.3, 0.2, 0.1],
        help="the true labels' priors (they sum to 1)",
    )
    parser.add_argument("--seeds", type=int, default=50, help="simulated teams per cell")
    parser.add_argument(
        "--out", type=Path, default=default_out("agreement"), help="JSON results file"
    )
    args = parser.parse_args()
    if len(args.errors) != 3 or abs(sum(args.prior) - 1) > 1e-9:
        parser.error("--errors needs three rates and --prior must sum to 1")
    expected = truth(args.prior, args.errors)
    results = []
    for design in ("pair", "all"):
        for n in SIZES:
            errors: dict[str, list[float]] = {name: [] for name in expected}
            for seed in range(args.seeds):
                found = estimates(simulate(args.prior, args.errors, n, design, random.Random(seed)))
                for name, value in expected.items():
                    estimate = found.get(name)
                    if estimate is not None:
                        errors[name].append(abs(estimate - value))
            for name, values in errors.items():
                results.append(
                    {
                        "design": design,
                        "items": n,
                        "figure": name,
                        "truth": expected[name],
                        "runs": len(values),
                        "mean_abs_error": sum(values) / len(values),
                        "p95_abs_error": percentile(values, 95),
                    }
                )
    payload = {"benchmark": "agreement", "hardware": hardware(), "args": vars(args)}
    write_json(args.out, {**payload, "results": results})
    rows = [
        [
            r["design"],
            r["items"],
            r["figure"],
            round(r["truth"], 3),
            round(r["mean_abs_error"], 3),
            round(r["p95_abs_error"], 3),
        ]
        for r in results
    ]
    print(table(["design", "items", "figure", "truth", "mean |error|", "p95 |error|"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
