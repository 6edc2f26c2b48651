"""Measure the extension's .vsix: its size, its file count, the time Node takes to load its code, and the
activation time VS Code reports for it.

A developer tool that prints figures (not a test). For each `.vsix` given (default: the built
`editors/vscode/copilot-index.vsix`):
- code loading: `require` of the entry point in a fresh Node process, with a stand-in `vscode` module
  (what bundling changes), median of `--loads` processes;
- activation: a private code-server with the .vsix on a small indexed git repository, through the
  end-to-end driver (`test/e2e/run.ts`, mode "activation"), reading "Developer: Show Running Extensions",
  whose figure is the extension's code loading plus its `activate` call up to its first wait (which here
  includes starting the language server's process); median of `--runs` sessions.
Runs alternate between the .vsix files, so that a busy machine weighs on each alike. Needs what the
end-to-end test needs (`scripts/install-e2e.sh`, `make vscode`).

    .venv/bin/python editors/vscode/scripts/bench_activation.py [--runs 3] [--loads 20] [A.vsix B.vsix ...]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[1]  # editors/vscode
BIN = Path(sys.executable).parent

# Loads the entry point with every `vscode` API standing in as a do-nothing proxy; prints milliseconds.
LOAD = """
const Module = require("node:module");
const stand = (name) => new Proxy(function () {}, {
  get: (_t, key) => key === "then" ? undefined : key === "version" ? "1.96.0" : stand(name + "." + String(key)),
  apply: () => stand(name + "()"), construct: () => stand("new " + name),
});
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === "vscode" ? stand("vscode") : load.call(this, request, ...rest);
};
const start = process.hrtime.bigint();
require(process.argv[1]);
process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e6));
"""


def load_ms(vsix: Path, tmp: Path) -> float:
    folder = tmp / f"unpacked-{vsix.stat().st_ino}"
    if not folder.is_dir():
        with zipfile.ZipFile(vsix) as archive:
            archive.extractall(folder)
    main = json.loads((folder / "extension" / "package.json").read_text("utf-8"))["main"]
    entry = (folder / "extension" / main).resolve()
    done = subprocess.run(["node", "-e", LOAD, str(entry)], check=True, capture_output=True, text=True)
    return float(done.stdout)


def activation_ms(vsix: Path, repo: Path, tmp: Path) -> int:
    scenario = {
        "workspace": str(repo),
        "codeServer": str(EXTENSION / "e2e" / "node_modules" / "code-server" / "out" / "node" / "entry.js"),
        "vsix": str(vsix),
        "chromium": shutil.which("chromium") or "/usr/bin/chromium",
        "home": str(tmp),
        "failures": str(tmp / "failures"),
        "settings": {"workbench.startupEditor": "none", "telemetry.telemetryLevel": "off", "update.mode": "none",
                     "copilotIndex.server.command": str(BIN / "copilot-lsp")},
        "env": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        "document": {"name": "", "line": 1, "typed": ""},
        "search": {"query": "", "pick": ""},
        "setting": "",
        "mode": "activation",
        "viewport": {"width": 1280, "height": 720},
        "indexSeconds": 240,
        "suggestionSeconds": 60,
    }
    tmp.mkdir(parents=True)
    (tmp / "scenario.json").write_text(json.dumps(scenario), "utf-8")
    subprocess.run(["node", str(EXTENSION / "out" / "test" / "e2e" / "run.js"), str(tmp / "scenario.json")],
                   cwd=EXTENSION, check=True, capture_output=True)
    results = json.loads((tmp / "results.json").read_text("utf-8"))
    found = re.search(r"Activation: (\d+)ms", results.get("runningExtension") or "")
    if found is None:
        sys.exit(f"no activation time for {vsix}: {results['steps']} {results.get('error', '')}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vsix", nargs="*", type=Path, default=[EXTENSION / "copilot-index.vsix"])
    parser.add_argument("--runs", type=int, default=3, help="code-server sessions per .vsix")
    parser.add_argument("--loads", type=int, default=20, help="Node processes per .vsix")
    args = parser.parse_args()
    subprocess.run(["bash", str(EXTENSION / "scripts" / "install-e2e.sh")], check=True)
    with tempfile.TemporaryDirectory(prefix="copilot-index-activation-") as name:
        tmp = Path(name)
        repo = tmp / "repo"
        repo.mkdir()
        (repo / "shapes.py").write_text("def area(side):\n    return side * side\n", "utf-8")
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "code"]):
            subprocess.run(["git", *cmd], cwd=repo, check=True)
        subprocess.run([str(BIN / "copilot-index"), "index", str(repo)], check=True, stdout=subprocess.DEVNULL)
        loads: dict[Path, list[float]] = {vsix: [] for vsix in args.vsix}
        for _ in range(args.loads):
            for vsix in args.vsix:
                loads[vsix].append(load_ms(vsix.resolve(), tmp))
        times: dict[Path, list[int]] = {vsix: [] for vsix in args.vsix}
        for run in range(args.runs):
            for i, vsix in enumerate(args.vsix):
                times[vsix].append(activation_ms(vsix.resolve(), repo, tmp / f"run-{run}-{i}"))
        for vsix, ms in times.items():
            with zipfile.ZipFile(vsix) as archive:
                files = len([n for n in archive.namelist() if n.startswith("extension/")])
            print(f"{vsix}: {vsix.stat().st_size / 1024:.1f} KB, {files} files; code loading "
                  f"{statistics.median(loads[vsix]):.1f} ms (median of {len(loads[vsix])}); activation "
                  f"{statistics.median(ms)} ms in VS Code (median of {len(ms)}: {ms})")


if __name__ == "__main__":
    main()
