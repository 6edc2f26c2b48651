"""How many keystrokes the language server answers without generating: from the speculative prefetch or from the
suggestion cache, with the prefetch on and off in the same run (issue 18).

A user is replayed over held-out lines of a real repository (a completion set from
`/work/shared/bench/make_completion_set.py`): the document is opened with the line missing, the line is typed
one character at a time with an inline-completion request after each, and whenever the suggestion shown is
exactly the rest of the line, the user reads it (`--read-ms`), accepts it (Tab) and moves on to the next line;
keystrokes otherwise follow each other as soon as the previous one is answered (a fast typist).
The server's own counters (`copilotIndex.status`) say how each request was answered.

    .venv/bin/python tests/benchmarks/bench_prefetch.py SET_DIR [--lines 12] [--model default|PATH] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_lsp import CAPABILITIES, execute, inline, wait_for_index
from lsprotocol import types
from pygls.lsp.client import LanguageClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def held_out_lines(folder: Path, count: int) -> list[dict[str, Any]]:
    """`count` infill cases (the text after the cursor is known, as in an editor) spread over the set's files."""
    cases = [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines() if line.strip()]
    infill = [c for c in cases if c["mode"] == "infill" and c["expected"].strip()]
    return infill[:: max(1, len(infill) // count)][:count]


class Replay:
    """One language server over the set's repository, typing held-out lines into open documents."""

    def __init__(self, client: LanguageClient, root: Path, read_s: float) -> None:
        self.client, self.root, self.read_s = client, root, read_s
        self.versions: dict[str, int] = {}
        self.latency_ms: list[float] = []
        self.accepted = 0

    def _set(self, uri: str, text: str) -> None:
        version = self.versions[uri] = self.versions.get(uri, 1) + 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    async def line(self, case: dict[str, Any]) -> None:
        uri = (self.root / case["path"]).as_uri()
        lines = case["text"].split("\n")
        head, tail = lines[case["line"]][: case["character"]], lines[case["line"]][case["character"]:]
        if uri not in self.versions:
            self.versions[uri] = 1
            self.client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
                uri=uri, language_id="text", version=1, text=case["text"])))
        expected = case["expected"].strip()
        indent = head
        typed = 0
        while typed <= len(expected):
            lines[case["line"]] = indent + expected[:typed] + tail
            self._set(uri, "\n".join(lines))
            started = time.perf_counter()
            answer = await self.client.text_document_inline_completion_async(
                inline(uri, case["line"], len(indent) + typed))
            self.latency_ms.append((time.perf_counter() - started) * 1000)
            shown = answer.items[0].insert_text if answer and answer.items else ""
            if typed < len(expected) and isinstance(shown, str) and shown.split("\n")[0] == expected[typed:]:
                self.accepted += 1  # Tab, once the suggestion is read: it is the rest of the line
                await asyncio.sleep(self.read_s)
                lines[case["line"]] = indent + expected + tail
                self._set(uri, "\n".join(lines))
                # Accepting asks again at the end of the accepted text (the follow-up the prefetch computed).
                started = time.perf_counter()
                await self.client.text_document_inline_completion_async(
                    inline(uri, case["line"], len(indent) + len(expected)))
                self.latency_ms.append((time.perf_counter() - started) * 1000)
                break
            typed += 1
        lines[case["line"]] = head + tail
        self._set(uri, "\n".join(lines))  # the document as it was, for the next line in the same file


async def run(folder: Path, count: int, model: str, prefetch: bool, read_s: float) -> dict[str, Any]:
    root = (folder / "repo").resolve()
    client = LanguageClient("bench-prefetch", "1")
    await client.start_io(sys.executable, "-m", "copilot_index.server.lsp")
    workspace = types.WorkspaceFolder(uri=root.as_uri(), name="repo")
    options = {"completion": {"model": model}, "lsp": {"prefetch": prefetch}}
    await client.initialize_async(types.InitializeParams(
        capabilities=CAPABILITIES, root_uri=workspace.uri, workspace_folders=[workspace],
        initialization_options=options))
    client.initialized(types.InitializedParams())
    await wait_for_index(client)
    replay = Replay(client, root, read_s)
    started = time.perf_counter()
    for case in held_out_lines(folder, count):
        await replay.line(case)
    seconds = time.perf_counter() - started
    stats = (await execute(client, "copilotIndex.status"))["completion"]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    requests = max(1, stats["requests"])
    latency = sorted(replay.latency_ms)
    return {
        "prefetch": prefetch, "lines": count, "requests": stats["requests"], "accepted_lines": replay.accepted,
        "from_cache": stats["from_cache"], "from_cache_share": round(stats["from_cache"] / requests, 3),
        "prefetched": stats["prefetched"], "generated": stats["generated"],
        "p50_ms": round(statistics.median(latency), 1) if latency else None,
        "p95_ms": round(latency[int(0.95 * (len(latency) - 1))], 1) if latency else None,
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="a completion set: repo/ and cases.jsonl")
    parser.add_argument("--lines", type=int, default=12, help="held-out lines to type")
    parser.add_argument("--model", default="default", help='"default", "copilot-index-default" or a path')
    parser.add_argument("--read-ms", type=float, default=400, help="time the user reads a suggestion before Tab")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {"set": args.set.name, "model": args.model, "read_ms": args.read_ms,
              "runs": [asyncio.run(run(args.set, args.lines, args.model, prefetch, args.read_ms / 1000))
                       for prefetch in (False, True)]}
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        for row in report["runs"]:
            sys.stdout.write("  ".join(f"{key}={value}" for key, value in row.items()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
