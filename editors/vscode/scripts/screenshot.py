"""Capture a screenshot of VS Code showing a real copilot-index ghost-text suggestion.

A developer tool, not part of the product: it makes `editors/vscode/screenshot.png` for the READMEs, next to
the Neovim one (`editors/nvim/scripts/screenshot.py`).

1. Creates a small temporary git repository (`geometry.py`, `rings.py`) and indexes it with
   `copilot-index index`, next to the Python running this script (the project's `.venv`).
2. Runs the end-to-end driver (`test/e2e/run.ts`) in its screenshot mode: a private code-server with the
   built `.vsix`, `copilot-lsp` from the same environment and the shipped default model (no model is
   configured), opened in headless Chromium by playwright-core.
3. Types a partial line in `rings.py` and waits until VS Code shows the suggestion as ghost text, then
   saves the browser's picture of the window (reduced to 128 colours with Pillow).

Needs what the end-to-end test needs: `editors/vscode/scripts/install-e2e.sh` (run as root once) and the
built extension (`make vscode`). Rerun from the repository root:
    .venv/bin/python editors/vscode/scripts/screenshot.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

EXTENSION = Path(__file__).resolve().parents[1]  # editors/vscode
sys.path.insert(0, str(EXTENSION.parent))
from demo_repo import TYPED, make_demo_repo  # noqa: E402  (the repository both editors' screenshots open)

BIN = Path(sys.executable).parent

LINE = 10  # TYPED is retyped over `pass`, after its indentation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=EXTENSION / "screenshot.png")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the suggestion")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    driver = EXTENSION / "out" / "test" / "e2e" / "run.js"
    vsix = EXTENSION / "copilot-index.vsix"
    if not driver.is_file() or not vsix.is_file():
        sys.exit("build the extension first: make vscode")
    subprocess.run(["bash", str(EXTENSION / "scripts" / "install-e2e.sh")], check=True)
    started, tmp = time.monotonic(), Path(tempfile.mkdtemp(prefix="copilot-index-vscode-shot-"))
    repo = make_demo_repo(tmp / "repo", "    pass\n")
    scenario = {
        "workspace": str(repo),
        "codeServer": str(EXTENSION / "e2e" / "node_modules" / "code-server" / "out" / "node" / "entry.js"),
        "vsix": str(vsix),
        "chromium": shutil.which("chromium") or "/usr/bin/chromium",
        "home": str(tmp / "session"),
        "failures": str(tmp / "failures"),
        "settings": {
            "workbench.startupEditor": "none",
            "workbench.colorTheme": "Default Dark Modern",
            "workbench.tips.enabled": False,
            "telemetry.telemetryLevel": "off",
            "update.mode": "none",
            "extensions.autoCheckUpdates": False,
            "git.autofetch": False,
            "editor.minimap.enabled": False,
            "editor.cursorBlinking": "solid",
            "copilotIndex.server.command": str(BIN / "copilot-lsp"),
        },
        "env": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        "document": {"name": "rings.py", "line": LINE, "typed": TYPED},
        "search": {"query": "", "pick": ""},
        "setting": "",
        "mode": "screenshot",
        "screenshot": str(tmp / "window.png"),
        "viewport": {"width": 1100, "height": 560},
        "indexSeconds": args.timeout,
        "suggestionSeconds": args.timeout,
    }
    (tmp / "scenario.json").write_text(json.dumps(scenario), "utf-8")
    try:
        done = subprocess.run(["node", str(driver), str(tmp / "scenario.json")], cwd=EXTENSION,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
        results = json.loads((tmp / "session" / "results.json").read_text("utf-8"))
        if done.returncode != 0 or results["steps"].get("ghost") != "ok":
            sys.exit(f"no ghost text: {results.get('steps')} {results.get('error', '')}\n{done.stderr}")
        Image.open(tmp / "window.png").convert("RGB").quantize(colors=128).save(args.output, optimize=True)
        print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB; suggestion {results['ghost']!r}) "
              f"in {time.monotonic() - started:.0f}s")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
