"""`copilot-index trust [PATH] [--revoke | --list]`: let a repository's own settings choose where code goes."""

from __future__ import annotations

import argparse
from typing import Any

from copilot_index.indexer import CONFIG_FILE, resolve_repo, set_trusted, trusted_roots

from .console import Console


def register(sub: Any) -> None:
    p = sub.add_parser(
        "trust",
        help="trust a repository: its .copilot-index.toml may then choose the model, adapter, endpoint and guards",
        description=f"A cloned repository's {CONFIG_FILE} could send your code to a server of its choosing, load "
        "code from a model folder it names, or switch the guards off. Those settings apply only once you trust "
        "the repository; your own settings (~/.config/copilot-index/config.toml, your editor) always apply.",
    )
    p.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    p.add_argument("--revoke", action="store_true", help="stop trusting it")
    p.add_argument("--list", action="store_true", help="list the trusted repositories")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_trust)


def cmd_trust(args: argparse.Namespace, console: Console) -> int:
    if args.list:
        roots = trusted_roots()
        if console.json_mode:
            console.json({"trusted": roots})
        else:
            console.out.print("\n".join(roots) if roots else "No repository is trusted.", markup=False)
        return 0
    root = resolve_repo(args.path).root.resolve()
    changed = set_trusted(root, not args.revoke)
    if console.json_mode:
        console.json({"root": str(root), "trusted": not args.revoke, "changed": changed})
    elif args.revoke:
        console.out.print(f"{root} is no longer trusted: its {CONFIG_FILE} cannot choose the model, adapter, "
                          "endpoint or guards." if changed else f"{root} was not trusted.", markup=False)
    else:
        console.out.print(f"Trusted {root}: its {CONFIG_FILE} may now choose the model, adapter, endpoint and "
                          "guards." if changed else f"{root} was already trusted.", markup=False)
    return 0
