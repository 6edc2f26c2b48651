"""The adapter's effect through llama.cpp: SmolLM2-135M (the default, Q4_1 GGUF) with retrieval, with and without
the LoRA that `train-adapter` trains on each repository and exports as a GGUF LoRA, on held-out next lines of
real repositories, both in one run.

    .venv/bin/python tests/benchmarks/bench_adapter_effect.py SET_DIR ... [--per-set 24] [--minutes 8] [--steps 400]
        [--learning-rate LR] [--json OUT]

SET_DIR: sets made by `/work/shared/bench/make_completion_set.py`; the cases are those of
bench_default_model_choice.py (the same `--per-set` picks the same lines). For each set: index, `train-adapter
--max-minutes M` on the set's repository (its held-out files are not in it), then `copilot-index complete` on the
infill cases with the adapter's `adapter.gguf` named in the user's config, whether or not train-adapter promoted
it (its own held-out verdict is reported next to the figure). Exact match and edit similarity as in
bench_default_model_choice.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_default_model_choice import (  # noqa: E402
    CLI,
    LANGUAGES,
    SMOLLM2,
    cases_of,
    complete,
    index_set,
    score,
    scores_of,
    write,
)


def train(repo: Path, minutes: float, options: list[str], config: str) -> dict[str, Any]:
    """train-adapter's JSON report on `repo` under `config` (for a GGUF base an adapter.gguf is written too)."""
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "config.toml").write_text(config, encoding="utf-8")
        env = {**os.environ, "COPILOT_INDEX_CONFIG_HOME": home, "HF_HUB_OFFLINE": "1"}
        run = subprocess.run([CLI, "train-adapter", "--repo", str(repo), "--max-minutes", str(minutes),
                              *options, "--json"],
                             capture_output=True, text=True, env=env, timeout=int(minutes * 60) + 1800)
    if run.returncode != 0:
        raise SystemExit(f"train-adapter failed on {repo}: {run.stderr[-800:]}")
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--per-set", type=int, default=24, help="infill cases per set (spread over its files)")
    parser.add_argument("--minutes", type=float, default=8, help="train-adapter's budget per repository")
    parser.add_argument("--steps", type=int, default=400,
                        help="train-adapter's --max-steps (with a roomy --minutes, the same work on a busy machine)")
    parser.add_argument("--learning-rate", help="train-adapter's --learning-rate (default: its own)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    options = ["--max-steps", str(args.steps)] + (["--learning-rate", args.learning_rate] if args.learning_rate else [])
    base_config = f'[completion]\nmodel = "{SMOLLM2}"\n'
    report: dict[str, Any] = {"sets": {}, "configs": {}}
    rows: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {"smollm2+retrieval": [],
                                                                         "smollm2+retrieval+adapter": []}
    for folder in args.sets:
        repo, cases = folder / "repo", cases_of(folder, args.per_set)["infill"]
        index_set(repo)
        trained = train(repo, args.minutes, options, base_config)
        lora = Path(trained.get("path") or "") / "adapter.gguf"
        if not lora.is_file():
            raise SystemExit(f"train-adapter wrote no GGUF LoRA for {repo}: {json.dumps(trained)[:800]}")
        report["sets"][folder.name] = {"cases": len(cases), "train_adapter": trained}
        configs = {"smollm2+retrieval": (base_config, False),
                   "smollm2+retrieval+adapter": (base_config + f'adapter = "{lora}"\n', True)}
        for name, (config, adapter) in configs.items():
            answers = complete(repo, cases, config, [], args.threads, adapter=adapter)
            rows[name] += [(LANGUAGES.get(Path(c["path"]).suffix, "other"), c, a)
                           for c, a in zip(cases, answers, strict=True)]
            sys.stderr.write(f"{folder.name} {name}: {score([(c, a) for _, c, a in rows[name][-len(cases):]])}\n")
    report["configs"] = scores_of(rows)
    write(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
