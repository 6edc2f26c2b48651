"""Which suggestions are worth showing? `completion.min_confidence` against showing every suggestion, in one run.

The default setup (SmolLM2 through llama.cpp, retrieval on) completes the held-out lines of the sets of
`bench_default_model_choice.py` (the same cases) once, with nothing withheld; every answer carries the model's
confidence (the geometric mean probability of the tokens it chose). Each threshold then withholds the answers
below it, exactly as the engine does, and the table says what the user would have seen: how many suggestions,
how many of them were the held-out line (exact match among those shown), the edit similarity of those shown,
and how many right ones were lost. The baseline is the first row, threshold 0: every suggestion shown. Hiding
the same share at random would leave the share of right ones at the baseline's, whatever the share hidden.

    .venv/bin/python tests/benchmarks/bench_confidence.py SET_DIR ... [--per-set 24] [--rest] [--json OUT]

`--rest` answers the sets' other infill cases (those `--per-set` does not choose): a check, on lines the first
run did not see, of the thresholds it suggests.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_default_model_choice import CONFIGS, LANGUAGES, cases_of, complete, index_set  # noqa: E402

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def other_cases(folder: Path, per_set: int) -> list[dict[str, Any]]:
    """The set's infill cases that `cases_of` does not choose: lines to check a threshold chosen on those."""
    chosen = {(c["path"], c["line"]) for c in cases_of(folder, per_set)["infill"]}
    cases = [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines() if line.strip()]
    return [c for c in cases if c["mode"] == "infill" and (c["path"], c["line"]) not in chosen]


def rows_of(sets: list[Path], per_set: int, threads: int, rest: bool = False) -> list[dict[str, Any]]:
    """One row per case: language, exact, edit similarity and confidence of the default setup's answer."""
    config, flags, mode = CONFIGS["smollm2+retrieval"]
    rows = []
    for folder in sets:
        repo = folder / "repo"
        cases = other_cases(folder, per_set) if rest else cases_of(folder, per_set)[mode]
        index_set(repo)
        for case, answer in zip(cases, complete(repo, cases, config, flags, threads), strict=True):
            got, expected = (answer.get("completion") or "").split("\n")[0].strip(), case["expected"].strip()
            rows.append({"set": folder.name, "language": LANGUAGES.get(Path(case["path"]).suffix, "other"),
                         "exact": got == expected, "shown": bool(got),
                         "similarity": difflib.SequenceMatcher(None, got, expected).ratio(),
                         "confidence": answer.get("confidence")})
        sys.stderr.write(f"{folder.name}: {len(cases)} cases\n")
    return rows


def at_threshold(rows: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """What the user sees when answers below `threshold` are withheld (a server's answer, without a
    confidence, is always shown)."""
    shown = [r for r in rows if r["shown"] and (r["confidence"] is None or r["confidence"] >= threshold)]
    right = sum(r["exact"] for r in rows)
    kept = sum(r["exact"] for r in shown)
    return {"threshold": threshold, "cases": len(rows), "shown": len(shown), "right_shown": kept,
            "right_lost": right - kept,
            "exact_among_shown": round(kept / len(shown), 4) if shown else None,
            "similarity_among_shown": round(sum(r["similarity"] for r in shown) / len(shown), 4) if shown else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--per-set", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rest", action="store_true",
                        help="the sets' other infill cases instead (to check a threshold chosen without them)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = rows_of(args.sets, args.per_set, args.threads, args.rest)
    report: dict[str, Any] = {"pooled": [at_threshold(rows, t) for t in THRESHOLDS]}
    for language in sorted({r["language"] for r in rows}):
        report[language] = [at_threshold([r for r in rows if r["language"] == language], t) for t in THRESHOLDS]
    right = [r["confidence"] for r in rows if r["exact"] and r["confidence"] is not None]
    wrong = [r["confidence"] for r in rows if not r["exact"] and r["shown"] and r["confidence"] is not None]
    # How often a right answer is more confident than a wrong one (0.5: confidence says nothing).
    pairs = [(a > b) + 0.5 * (a == b) for a in right for b in wrong]
    report["right_above_wrong"] = round(sum(pairs) / len(pairs), 4) if pairs else None
    report["cases"] = rows
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write("threshold  shown  right shown  right lost  exact among shown  similarity among shown\n")
    for line in report["pooled"]:
        sys.stdout.write(f"{line['threshold']:9.2f}  {line['shown']:5d}  {line['right_shown']:11d}  "
                         f"{line['right_lost']:10d}  {line['exact_among_shown'] or 0:17.3f}  "
                         f"{line['similarity_among_shown'] or 0:22.3f}\n")
    sys.stdout.write(f"a right suggestion is more confident than a wrong one in {report['right_above_wrong']} of pairs "
                     f"({len(right)} right, {len(wrong)} wrong)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
