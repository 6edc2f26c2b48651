"""Run a benchmark on the code of one git revision instead of whatever the checkout holds.

The editable install maps `copilot_index.*` to this checkout, so a benchmark, and every `copilot-index`
subprocess it starts, imports the checkout as it is at that moment: edit a file during an hour-long run and the
second half measures other code than the first. A `git worktree` alone does not help, since the editable
install still points at the checkout. `pinned_environment(REV)` makes a detached worktree of REV and beside it a
folder whose `copilot_index/{indexer,conventions,server}` are links into that worktree; with the folder first
on PYTHONPATH, Python's path search finds `copilot_index` there before the editable install's finder is asked,
in the benchmark and in all of its children. `run_pinned` reruns a benchmark script that way. The worktree
(under the temporary folder, `copilot-index-code-<commit>`) stays for the next run of the same revision;
`git worktree remove` it when done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("indexer", "conventions", "server")


def _git(root: Path, *args: str, failure: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(failure)
    return done.stdout.strip()


def pinned_environment(rev: str, root: Path = ROOT, base: Path | None = None) -> tuple[Path, dict[str, str]]:
    """(worktree of REV, environment whose imports of copilot_index read that worktree). Reused if present."""
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}",
                  failure=f"--code {rev}: not a commit of {root}; give a commit, branch or tag.")
    folder = (base or Path(tempfile.gettempdir())) / f"copilot-index-code-{commit[:12]}"
    tree, shim = folder / "tree", folder / "shim" / "copilot_index"
    if not (tree / ".git").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _git(root, "worktree", "add", "--detach", str(tree), commit,
             failure=f"--code {rev}: git could not make a worktree in {tree}; remove that folder and run again.")
    shim.mkdir(parents=True, exist_ok=True)
    for layer in LAYERS:
        link = shim / layer
        if not link.is_symlink():
            link.symlink_to(tree / layer, target_is_directory=True)
    path = [str(shim.parent), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return tree, {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def run_pinned(rev: str, script: Path, argv: list[str], root: Path = ROOT, base: Path | None = None) -> int:
    """Run `script` (a file of the checkout at `root`) as REV has it, with `argv`, from the current folder."""
    tree, env = pinned_environment(rev, root, base)
    print(f"code pinned to {rev} at {tree}", flush=True)
    relative = script.resolve().relative_to(root.resolve())
    return subprocess.run([sys.executable, str(tree / relative), *argv], env=env, check=False).returncode


def rerun_over(rev: str, script: str, argv: list[str]) -> int:
    """Run `script` as the checkout has it, with `argv` less `--code REV`, over the library code of REV (so older
    code meets the script's newer options)."""
    tree, env = pinned_environment(rev)
    sys.stderr.write(f"code pinned to {rev} at {tree}\n")
    return subprocess.run([sys.executable, script, *without_option(argv, "--code")], env=env, check=False).returncode


def without_option(argv: list[str], option: str) -> list[str]:
    """`argv` without `option VALUE` (or `option=VALUE`)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out
