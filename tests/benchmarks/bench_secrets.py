"""Redaction figures (issue 20): recall on one planted value of every kind the redactor must catch, and false
positives on ordinary code, the standard library's packages by default (or any folders given).

    .venv/bin/python tests/benchmarks/bench_secrets.py [FOLDER ...] [--json] [--list]

Recall: the planted kinds of `tests/indexer/test_redact.py` (PLANTED), each in its own small file; caught means
no part of the value is left in the redacted text; and the same values led by what starts a placeholder or a
reference (`my`, `your`, `$`, `%`, `!`: LEADS). False positives: the lines the redactor changes in the
folders' text files, none of which holds a real secret (the standard library's test data aside).
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "indexer"))
from test_redact import LEADS, ORDINARY, PLANTED  # noqa: E402

from copilot_index.indexer import Redactor  # noqa: E402

STDLIB_PACKAGES = ("email", "http", "urllib", "xml", "logging", "json", "asyncio", "sqlite3", "wsgiref", "importlib")
SKIP_SUFFIXES = {".pyc", ".png", ".jpg", ".ico", ".gif", ".woff", ".woff2", ".ttf", ".svg", ".pdf"}


def recall(redactor: Redactor, planted: list[tuple[str, ...]]) -> tuple[int, list[str]]:
    """Planted (path, template, maker) or (lead, path, template, maker): the value is the lead + a fresh one."""
    caught, missed = 0, []
    for *lead, path, template, make in planted:
        value = "".join(lead) + make()
        text = f"# settings\n{template.format(v=value)}\nDEBUG=true\n"
        out = redactor.redact(text, path).text
        if all(part not in out for part in value.split(".")):
            caught += 1
        else:
            missed.append(f"{path}: {template}")
    return caught, missed


def false_positives(redactor: Redactor, roots: list[Path]) -> tuple[int, list[tuple[str, int, list[str]]]]:
    files, hits = 0, []
    for root in roots:
        for path in sorted(root.rglob("*")):
            skip = "__pycache__" in path.parts or ".git" in path.parts or "node_modules" in path.parts
            if skip or not path.is_file() or path.suffix in SKIP_SUFFIXES or path.stat().st_size > 1_000_000:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            files += 1
            rel = str(path.relative_to(root.parent))
            result = redactor.redact(text, rel)
            if result.count:
                for number, (a, b) in enumerate(zip(text.split("\n"), result.text.split("\n"), strict=False), 1):
                    if a != b:  # the line number and kind only: a false positive may still be someone's secret
                        hits.append((rel, number, sorted(result.line_kinds.get(number, []))))
    return files, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="trees of ordinary code (default: stdlib packages)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--list", action="store_true", help="list every redacted line (path, line, kinds)")
    args = parser.parse_args(argv)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots = args.folders or [stdlib / name for name in STDLIB_PACKAGES]
    redactor = Redactor()
    started = time.perf_counter()
    caught, missed = recall(redactor, PLANTED)
    caught_leads, missed_leads = recall(redactor, LEADS)
    ordinary = [f"{p}: {line}" for p, line in ORDINARY if redactor.redact(line + "\n", p).count]
    files, hits = false_positives(redactor, roots)
    report = {
        "planted_kinds": len(PLANTED), "caught": caught, "missed": missed,
        "placeholder_leads": len(LEADS), "caught_with_lead": caught_leads, "missed_with_lead": missed_leads,
        "ordinary_lines": len(ORDINARY), "ordinary_redacted": ordinary,
        "folders": [str(r) for r in roots], "files": files, "lines_redacted": len(hits),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.list:
        report["redacted"] = hits
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        for key, value in report.items():
            sys.stdout.write(f"{key:20} {value}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
