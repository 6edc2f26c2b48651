"""Does tidying suggestions (`completion.tidy`) show fewer wrong lines without losing right ones? In one run.

The default setup (SmolLM2 through llama.cpp, retrieval on) completes two kinds of places in the held-out files
of the completion sets (`../shared/bench/make_completion_set.py`):

- **blocks**: the cursor on the new line after a block opener (`def f(x):`, `if err != nil {`), the block's body
  removed, the rest of the file below: the multi-line suggestion an editor shows after Enter. The expected
  text is the body that was removed.
- **lines**: the single-line infill cases of `bench_default_model_choice.py` (the same ones).

What the model wrote is shaped twice, by the engine's own `server.completion.tidy.shape`: with `completion.tidy`
off (the baseline: a block still ends where the block ends) and on, so both columns judge the same generations. A
suggestion line is right when it equals (stripped) the expected line at its place, blank lines aside.

    .venv/bin/python tests/benchmarks/bench_tidy.py SET_DIR ... [--blocks 10] [--lines 24] [--other] [--json OUT]

The rules were written from the default block places; `--other --lines 0` checks them on places between those.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_default_model_choice import SMOLLM2, cases_of  # noqa: E402

from copilot_index.indexer import Index  # noqa: E402
from copilot_index.server.completion.config import CompletionConfig  # noqa: E402
from copilot_index.server.completion.engine import CompletionEngine  # noqa: E402
from copilot_index.server.completion.request import CompletionRequest, wants_block  # noqa: E402
from copilot_index.server.completion.tidy import shape  # noqa: E402
from copilot_index.server.model.backend import Generated, Prompt  # noqa: E402
from copilot_index.server.model.llama_cpp import LlamaCppBackend  # noqa: E402


def whole_files(folder: Path) -> dict[str, str]:
    """The held-out files of a set, whole again (an infill case's text lacks only its expected line)."""
    files: dict[str, str] = {}
    for line in (folder / "cases.jsonl").read_text().splitlines():
        case = json.loads(line) if line.strip() else None
        if case and case["mode"] == "infill" and case["path"] not in files:
            lines = case["text"].split("\n")
            lines[case["line"]] = case["expected"]
            files[case["path"]] = "\n".join(lines)
    return files


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def block_cases(folder: Path, count: int, other: bool = False) -> list[dict[str, Any]]:
    """`count` places after a block opener, spread over the held-out files, each with its body removed; with
    `other`, the places halfway between those (a check on places the rules were not written from)."""
    found = []
    for path, text in sorted(whole_files(folder).items()):
        lines = text.split("\n")
        for i in range(len(lines) - 2):
            if not lines[i + 1].strip() or _indent(lines[i + 1]) <= _indent(lines[i]):
                continue
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(lines[i])):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            body = lines[i + 1 : end]
            pad = lines[i + 1][: _indent(lines[i + 1])]
            prefix = "\n".join(lines[: i + 1]) + "\n" + pad
            suffix = "\n" + "\n".join(lines[end:])
            if len(body) >= 2 and wants_block(prefix, suffix):
                found.append({"path": path, "text": prefix + suffix, "line": i + 1, "character": len(pad),
                              "expected": "\n".join(body)})
    step = max(1, len(found) // count)
    return found[step // 2 if other else 0 :: step][:count]


def right_lines(suggestion: str, expected: str) -> int:
    """Suggestion lines equal to the expected line at their place (stripped, blank lines aside)."""
    wanted = [line.strip() for line in expected.split("\n") if line.strip()]
    written = [line.strip() for line in suggestion.split("\n") if line.strip()]
    return sum(a == b for a, b in zip(written, wanted, strict=False))


class Recording:
    """The backend, remembering what it last generated (before the engine shapes it)."""

    def __init__(self, backend: LlamaCppBackend) -> None:
        self.backend = backend
        self.last: Generated | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def generate(self, prompt: Prompt, **kwargs: Any) -> Generated:
        self.last = self.backend.generate(prompt, **kwargs)
        return self.last


def generate(engine: CompletionEngine, recording: Recording, case: dict[str, Any], block: bool) -> dict[str, Any]:
    """What the engine shows of one generation without tidying (the baseline) and with it (`shape`, as the
    engine calls it)."""
    request = CompletionRequest(case["path"], case["text"], case["line"], case["character"], block)
    engine.complete(request)
    raw = recording.last
    assert raw is not None
    shown = {on: shape(raw.text, raw.stop_reason, request.prefix, request.suffix, block=block, tidy_on=on)
             for on in (False, True)}
    cut = shown[True][1].removeprefix("tidy_") if shown[True][1].startswith("tidy_") else None
    return {"raw": shown[False][0], "tidied": shown[True][0], "cut": cut, "stop_reason": raw.stop_reason,
            "expected": case["expected"]}


def summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    shown = [r for r in rows if r[key].strip()]
    lines = sum(len([x for x in r[key].split("\n") if x.strip()]) for r in shown)
    right = sum(right_lines(r[key], r["expected"]) for r in shown)
    first = sum(r[key].split("\n")[0].strip() == r["expected"].split("\n")[0].strip() for r in shown)
    similarity = [difflib.SequenceMatcher(None, r[key], r["expected"]).ratio() for r in rows]
    return {"suggestions_shown": len(shown), "lines_shown": lines, "right_lines": right,
            "right_share": round(right / lines, 3) if lines else 0.0, "first_line_right": first,
            "similarity": round(sum(similarity) / len(similarity), 3) if similarity else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--blocks", type=int, default=10, help="block places per set (default: 10)")
    parser.add_argument("--lines", type=int, default=24, help="single-line infill cases per set (default: 24)")
    parser.add_argument("--other", action="store_true", help="the block places halfway between the default ones")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    recording = Recording(LlamaCppBackend(SMOLLM2, n_threads=args.threads, context_length=2048))
    rows: dict[str, list[dict[str, Any]]] = {"blocks": [], "lines": []}
    for folder in args.sets:
        index = Index.open(folder / "repo", data_dir=folder / ".tidy-index")
        index.update()
        engine = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2), threads=args.threads),
                                  backend=recording, guards=None, use_adapter=False)  # type: ignore[arg-type]
        for kind, cases, block in (("blocks", block_cases(folder, args.blocks, args.other), True),
                                   ("lines", cases_of(folder, args.lines)["infill"] if args.lines else [], False)):
            rows[kind] += [{"set": folder.name, **generate(engine, recording, c, block)} for c in cases]
        index.close()
        sys.stderr.write(f"{folder.name}: {len(rows['blocks'])} blocks, {len(rows['lines'])} lines so far\n")
    report: dict[str, Any] = {}
    for kind, found in rows.items():
        cuts: dict[str, int] = {}
        for r in found:
            if r["cut"]:
                cuts[r["cut"]] = cuts.get(r["cut"], 0) + 1
        report[kind] = {"cases": len(found), "raw (baseline)": summary(found, "raw"),
                        "tidied": summary(found, "tidied"), "cut_by_rule": cuts}
        sys.stdout.write(f"\n{kind}: {len(found)} places, cut by rule {cuts}\n")
        sys.stdout.write("| | suggestions shown | lines shown | right lines | right share | first line right | "
                         "similarity |\n|---|---|---|---|---|---|---|\n")
        for name in ("raw (baseline)", "tidied"):
            s = report[kind][name]
            sys.stdout.write(f"| {name} | {s['suggestions_shown']} | {s['lines_shown']} | {s['right_lines']} | "
                             f"{s['right_share']:.1%} | {s['first_line_right']} | {s['similarity']:.3f} |\n")
    if args.json:
        args.json.write_text(json.dumps({"report": report, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
