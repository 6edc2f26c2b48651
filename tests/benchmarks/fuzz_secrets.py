"""Fuzz the secret redactor with fresh random values, many rounds (a nightly job; `make fuzz`).

The suite plants each kind of secret once per run with a fresh random value, which is how a value that
starts with "MY" was once found stored in clear (about one value in 900). This script repeats those plants
for as many rounds as it is given, so a rarer shape shows up here before it shows up in someone's index:

- every kind of `tests/indexer/test_redact.py`'s PLANTED, alone on a line of its file;
- every lead of its LEADS ("my", "Is", "$", ...) in front of the kinds it applies to;
- the files of `tests/e2e/test_planted_secrets.py`'s `plant`, each redacted whole.

A value counts as missed when any of it stays in the redacted text, when its whole digest is not recorded
(the suggestion guard could not recognise it), or when its line is not marked redacted. Misses are printed
as the kind and the value's shape (length and character classes), never the value. Exit status 1 on any miss.

    .venv/bin/python tests/benchmarks/fuzz_secrets.py [--rounds 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS, TESTS / "indexer", TESTS / "e2e"):
    sys.path.insert(0, str(folder))

from test_planted_secrets import plant  # noqa: E402
from test_redact import LEADS, PLANTED  # noqa: E402

from copilot_index.indexer import Redactor  # noqa: E402
from copilot_index.indexer.redact import value_digest  # noqa: E402

NOT_ALONE = ("Basic auth password",)
"""Planted only inside another value (base64 of user:password), so it is looked for as that value."""


class _Files:
    """Collects what `plant` writes, in place of a git repository."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def write(self, path: str, text: str) -> None:
        self.files[path] = text

    def commit(self, message: str) -> None:
        pass


def shape(value: str) -> str:
    """Length and character classes of a value: enough to reproduce its kind, nothing of the value."""
    classes = [name for name, test in (("lower", str.islower), ("upper", str.isupper), ("digit", str.isdigit))
               if any(test(c) for c in value)]
    others = sorted({c for c in value if not c.isalnum()})
    first = next((name for name, test in (("lower", str.islower), ("upper", str.isupper), ("digit", str.isdigit))
                  if test(value[:1])), "symbol")
    return f"{len(value)} chars, {'+'.join(classes)}{', ' + ''.join(others) if others else ''}, a {first} first"


def _missed(redactor: Redactor, path: str, line: str, value: str) -> bool:
    result = redactor.redact(f"# settings\n{line}\nDEBUG=true\n", path)
    kept = value in result.text or any(part and part in result.text for part in value.split("."))
    return kept or value_digest(value) not in result.digests or set(result.line_kinds) != {2}


def fuzz(rounds: int, redactor_factory: Callable[[], Redactor] = Redactor) -> dict[str, object]:
    redactor = redactor_factory()
    misses: Counter[str] = Counter()
    examples: dict[str, str] = {}
    checked = 0
    for _ in range(rounds):
        cases = [("", path, template, make) for path, template, make in PLANTED] + list(LEADS)
        for lead, path, template, make in cases:
            value = lead + make()
            checked += 1
            if _missed(redactor, path, template.format(v=value), value):
                kind = f"{path}: {template}" + (f" (led by {lead!r})" if lead else "")
                misses[kind] += 1
                examples.setdefault(kind, shape(value))
        files = _Files()
        values, planted = plant(files)  # type: ignore[arg-type]
        redacted = {path: redactor.redact(text, path) for path, text in files.files.items()}
        for kind, value in values.items():
            if kind in NOT_ALONE:
                continue
            checked += 1
            if any(value in result.text for result in redacted.values()):
                misses[f"e2e plant: {kind}"] += 1
                examples.setdefault(f"e2e plant: {kind}", shape(value))
        for path, lines in planted.items():
            for line in lines:
                checked += 1
                if line not in redacted[path].line_kinds:
                    misses[f"e2e plant: {path} line {line} not marked"] += 1
    return {"rounds": rounds, "values_checked": checked, "missed": sum(misses.values()),
            "misses": dict(misses), "shapes": examples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="rounds of every planted kind (default: 1000)")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = fuzz(args.rounds)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{summary['values_checked']} planted values in {args.rounds} rounds ({summary['seconds']} s): "
          f"{summary['missed']} missed")
    for kind, count in sorted(summary["misses"].items()):  # type: ignore[union-attr]
        print(f"  {count:5d}  {kind}  e.g. {summary['shapes'].get(kind, '')}")  # type: ignore[union-attr]
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 1 if summary["missed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
