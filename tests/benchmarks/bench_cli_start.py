"""Wall time of the command-line commands that load no model, against what each of them paid before 7 December.

Until then every `copilot-index` command imported torch, transformers and llama.cpp at start (the `complete`
command's engine was imported with the parser, and the ONNX embedder tokenized through transformers). The
baseline, measured in the same run and in turn with the commands, is a fresh interpreter importing torch and
transformers alone: the part of each command's time that is gone. A bare interpreter (`python -c pass`) is the
floor. Each figure is the median of `--runs` runs; the repository is five standard-library modules in a temporary
git repository, indexed first with the ONNX embedder (the default `auto` picks it on most machines).

    .venv/bin/python tests/benchmarks/bench_cli_start.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

MODULES = ("colorsys.py", "bisect.py", "heapq.py", "textwrap.py", "shlex.py")
CLI = [sys.executable, "-m", "copilot_index.server.cli"]
COMMANDS = {
    "status --json": [*CLI, "status", "--json"],
    "check --all --json": [*CLI, "check", "--all", "--json"],
    "search QUERY --json": [*CLI, "search", "split a shell command line into words", "--json"],
}
REFERENCES = {
    "baseline: import torch, transformers": [sys.executable, "-c", "import torch, transformers"],
    "floor: python -c pass": [sys.executable, "-c", "pass"],
}


def make_repo(root: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    root.mkdir(parents=True)
    for name in MODULES:
        shutil.copy(stdlib / name, root / name)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@example.com", "-c", "user.name=bench", "commit",
                                                 "-q", "-m", "modules"]):
        subprocess.run(["git", *args], cwd=root, check=True)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # `check` exits 1 on a finding
        raise SystemExit(f"{' '.join(command[3:])} failed: {done.stderr.strip()[-500:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-start-") as tmp:
        root, config = Path(tmp) / "repo", Path(tmp) / "config"
        make_repo(root)
        config.mkdir()
        (config / "config.toml").write_text('[index]\nembedder_backend = "onnx"\n', encoding="utf-8")
        env = {**os.environ, "COPILOT_INDEX_HOME": str(Path(tmp) / "data"), "COPILOT_INDEX_CONFIG_HOME": str(config),
               "HF_HUB_OFFLINE": "1"}
        subprocess.run([*CLI, "index"], cwd=root, env=env, check=True, capture_output=True)
        everything = {**COMMANDS, **REFERENCES}
        times: dict[str, list[float]] = {name: [] for name in everything}
        for _ in range(args.runs):  # in turn, so a burst of load falls on every row alike
            for name, command in everything.items():
                times[name].append(timed(command, root, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["baseline: import torch, transformers"]
    rows = [{"command": name, "median_s": round(medians[name], 3), "vs_baseline": round(medians[name] / baseline, 2)}
            for name in everything]
    if args.json:
        sys.stdout.write(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n")
    else:
        sys.stdout.write(f"median of {args.runs} runs each; baseline = what each command imported before\n")
        for row in rows:
            sys.stdout.write(f"  {row['command']:<40} {row['median_s']:6.2f} s  {row['vs_baseline']:5.2f}x baseline\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
