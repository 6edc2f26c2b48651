"""How should the doc probe choose the fusion weight after `train-embeddings`? (issue 19)

Reads the JSON of `bench_train_embeddings.py --weight-grid` (the trained embedder scored on each set's queries at
every weight the probe chooses from, each query's reciprocal rank kept, beside what the probe itself measured on
its held-out docs) and replays several ways of choosing, without training again:

- ``probe (the product)``: `probe.choose_weight`, whatever the product does now;
- ``probe, clear gain``: the probe's best weight (nearest the configured one among equals), unless it beats the
  configured weight by less than 0.01 (the product's rule until 6 December);
- ``fixed W``: the same weight for every trained embedder, whatever the probe says;
- ``probe >= W``: the probe's choice among the weights of at least W;
- ``probe, ties up``: the highest weight whose probe score is within `--tie` of the probe's best (a trained
  embedder usually deserves more dense weight, and a 30-doc probe cannot tell close weights apart).

For each policy: the weight chosen per set, MRR@10 of the set's queries there, the lift over the default search
before training, and the pooled lift with its 95 % interval (`paired_bootstrap.py`). "best" is the weight that is
best on the queries themselves: an upper bound no policy can know. A run whose trained embedder the gate did not
promote counts as no change under every policy, as in the product.

    .venv/bin/python tests/benchmarks/probe_policies.py RUN.json [RUN.json ...] [--tie 0.02] [--against RUN.json ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paired_bootstrap import lift_interval  # noqa: E402

from copilot_index.conventions.embeddings.probe import ProbeOptions, choose_weight  # noqa: E402

Policy = Callable[[dict[str, Any]], float]


def probe_scores(row: dict[str, Any]) -> dict[float, float]:
    return {float(w): m for w, m in (row.get("probe") or {}).get("mrr@10", {}).items()}


def product(row: dict[str, Any], options: ProbeOptions | None = None) -> float:
    probe = row.get("probe") or {}
    return choose_weight(probe_scores(row), probe.get("configured_weight", 0.7), probe.get("queries", 0),
                         options or ProbeOptions())


def as_run(row: dict[str, Any]) -> float:
    """The weight the run's own `train-embeddings` chose: the product's rule on unrounded probe scores (the replay
    of that rule, "probe (the product)", reads scores rounded to 4 places and can tip the other way at a tie's edge),
    or an older rule for runs made before it."""
    return float(row["dense_weight"])


def clear_gain(margin: float) -> Policy:
    def choose(row: dict[str, Any]) -> float:
        scores, probe = probe_scores(row), row.get("probe") or {}
        configured = probe.get("configured_weight", 0.7)
        if probe.get("queries", 0) < ProbeOptions().min_queries or not scores:
            return configured
        best = max(sorted(scores), key=lambda w: (scores[w], -abs(w - configured)))
        return configured if scores[best] < scores.get(configured, 0.0) + margin else best
    return choose


def fixed(weight: float) -> Policy:
    return lambda row: weight


def at_least(floor: float) -> Policy:
    def choose(row: dict[str, Any]) -> float:
        scores = {w: m for w, m in probe_scores(row).items() if w >= floor - 1e-9}
        return max(sorted(scores), key=lambda w: scores[w]) if scores else floor
    return choose


def ties_up(tie: float) -> Policy:
    return lambda row: product(row, ProbeOptions(tie=tie))  # the product's rule at another tie


def best_on_queries(row: dict[str, Any]) -> float:
    grid = row["after_by_weight"]
    return float(max(sorted(grid, key=float), key=lambda w: grid[w]["mrr"]))


def replay(rows: list[dict[str, Any]], policy: Policy, reference: dict[str, list[float]] | None = None
           ) -> tuple[list[str], float, tuple[float, float, float]]:
    """Each row at the policy's weight, against the default search before training, or against `reference`
    (set name -> another run's reciprocal ranks on the same queries: the paired comparison of two configurations)."""
    cells, groups = [], []
    for row in rows:
        before = reference[row["set"]] if reference is not None else row["reciprocal_ranks"]["before"]
        if row.get("promoted") is False:  # the gate kept the shipped embedder: no policy changes the search
            after, where = row["reciprocal_ranks"]["after"], "not promoted"
        else:
            weight = policy(row)
            after, where = row["after_by_weight"][_key(row, weight)]["ranks"], f"at {weight:g}"
        groups.append((before, after))  # the lift from the ranks themselves, as the benchmark takes it
        cells.append(f"{sum(after) / len(after):.3f} ({sum(after) / sum(before) - 1:+.1%}) {where}")
    pooled = sum(sum(a) for _, a in groups) / sum(sum(b) for b, _ in groups) - 1
    return cells, pooled, lift_interval(groups)


def _key(row: dict[str, Any], weight: float) -> str:
    return next(k for k in row["after_by_weight"] if abs(float(k) - weight) < 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="JSON written by bench_train_embeddings.py --weight-grid")
    parser.add_argument("--against", nargs="+", type=Path, default=[], metavar="RUN",
                        help="also print each policy against these runs' ranks after training (their own probe's "
                        "weight), paired on the same sets' queries: is one configuration better than another?")
    parser.add_argument("--tie", type=float, default=0.02,
                        help="probe MRR@10 within which weights tie, besides 0.01 and 0.03 (default 0.02)")
    args = parser.parse_args()
    rows = [row for run in args.runs for variant in json.loads(run.read_text())["sets"].values() for row in variant
            if row.get("after_by_weight")]
    if not rows:
        raise SystemExit("no set in these files was scored at every weight; run bench_train_embeddings.py --weight-grid")
    policies: dict[str, Policy] = {"as run (the weight its probe chose)": as_run, "probe (the product)": product,
                                   "probe, clear gain (0.01)": clear_gain(0.01)}
    policies.update({f"fixed {w:g}": fixed(w) for w in (0.7, 0.8, 0.9, 1.0)})
    policies.update({f"probe >= {w:g}": at_least(w) for w in (0.8, 0.9)})
    policies.update({f"probe, ties up ({tie:g})": ties_up(tie) for tie in sorted({0.01, args.tie, 0.03})})
    policies["best on the queries (bound)"] = best_on_queries
    _table(rows, policies, "before training (default search)", None)
    if args.against:
        reference = {row["set"]: row["reciprocal_ranks"]["after"] for run in args.against
                     for variant in json.loads(run.read_text())["sets"].values() for row in variant}
        rows = [row for row in rows if row["set"] in reference]
        if not rows:
            raise SystemExit("the --against runs share no set with the others; give runs of the same sets")
        print(f"\nAgainst {', '.join(map(str, args.against))} after training, paired on the same queries:\n")
        _table(rows, policies, "the --against runs after training", reference)
    return 0


def _table(rows: list[dict[str, Any]], policies: dict[str, Policy], start: str,
           reference: dict[str, list[float]] | None) -> None:
    header = ["policy", *[f"{r['set']} ({r['queries']})" for r in rows], f"pooled ({sum(r['queries'] for r in rows)})"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    firsts = [sum(reference[r["set"]]) / r["queries"] if reference is not None else r["before"] for r in rows]
    print(f"| {start} | " + " | ".join(f"{m:.3f}" for m in firsts) + " | |")
    for name, policy in policies.items():
        cells, pooled, (low, high, _) = replay(rows, policy, reference)
        print(f"| {name} | " + " | ".join(cells) + f" | {pooled:+.1%} ({low:+.1%} to {high:+.1%}) |")


if __name__ == "__main__":
    raise SystemExit(main())
