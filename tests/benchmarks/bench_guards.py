"""Guard figures: labelled insecure corpus, false positives on clean code, licence copies, planted secrets, latency.

Builds a real index (real indexer and embedder) of a planted repository: MIT-licensed, with a
GPL-3.0 file and secrets in config files, plus a copy of this project's Python code so the
fingerprint table is not trivially small. Then runs the full GuardPipeline warm.

    .venv/bin/python tests/benchmarks/bench_guards.py [--stdlib-pieces 600] [--project-pieces 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

import guard_fixtures as fx  # noqa: E402

from copilot_index.conventions.guards import GuardConfig, GuardPipeline, Suggestion  # noqa: E402
from copilot_index.indexer.pipeline import Indexer, database_path  # noqa: E402
from copilot_index.indexer.repo import resolve_repo  # noqa: E402
from copilot_index.indexer.store import ChunkStore  # noqa: E402


def build_index(root: Path, data_dir: Path) -> ChunkStore:
    fx.write_planted_repo(root)
    for path in fx.project_files():
        if "tests" not in path.parts:
            target = root / "copy" / path.relative_to(fx.PROJECT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    started = time.monotonic()
    summary = Indexer(resolve_repo(root), data_dir).run()
    print(f"indexed {summary.files_scanned} files, {summary.chunks_embedded} chunks, "
          f"{summary.secrets_redacted} secrets redacted in {time.monotonic() - started:.1f}s")
    return ChunkStore(database_path(data_dir))


def corpus_figure(pipeline: GuardPipeline, latencies: list[float]) -> None:
    items = fx.load_corpus()
    hits, misses = 0, []
    languages = Counter(item.suggestion.language for item in items)
    for item in items:
        result = pipeline.check(item.suggestion)
        latencies.append(result.latency_ms)
        if result.action == item.expect:
            hits += 1
        else:
            misses.append(f"{item.id}: expected {item.expect}, got {result.action}")
    share = hits / len(items)
    print(f"[corpus] {hits}/{len(items)} insecure snippets blocked or annotated as labelled = {share:.1%} "
          f"(target >= 95%: {'MET' if share >= 0.95 else 'NOT MET'}); languages: {dict(languages)}")
    for miss in misses:
        print(f"    miss {miss}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def per_guard_latency(pipeline: GuardPipeline, pieces: list[Suggestion]) -> None:
    parts = []
    for guard in pipeline.guards:
        times = []
        for piece in pieces:
            started = time.perf_counter()
            guard.check(piece)
            times.append((time.perf_counter() - started) * 1000)
        parts.append(f"{guard.name} p50 {statistics.median(times):.2f} / p95 {percentile(times, 0.95):.2f} ms")
    print(f"[latency] per guard over {len(pieces)} clean pieces: " + "; ".join(parts))


def false_positive_figure(
    pipeline: GuardPipeline, stdlib: int, project: int, latencies: list[float]
) -> list[Suggestion]:
    root, files = fx.stdlib_files(200, seed=7)
    groups = {
        "CPython stdlib": fx.clean_pieces(files, root, stdlib, seed=11),
        "this project": fx.clean_pieces(fx.project_files(), fx.PROJECT, project, seed=13),
    }
    total_blocked = total = 0
    for name, pieces in groups.items():
        blocked = []
        for piece in pieces:
            result = pipeline.check(piece)
            latencies.append(result.latency_ms)
            if result.blocked:
                reasons = "; ".join(f"{d.guard}: {d.reason}" for d in result.decisions if d.action == "block")
                blocked.append(f"{piece.path}:{piece.line + 1}: {reasons}")
        total_blocked += len(blocked)
        total += len(pieces)
        print(f"[clean] {name}: {len(blocked)}/{len(pieces)} pieces blocked = {len(blocked) / len(pieces):.1%}")
        for line in blocked:
            print(f"    blocked {line[:160]}")
    share = total_blocked / total
    print(f"[clean] block-level false positives overall: {total_blocked}/{total} = {share:.2%} "
          f"(target <= 2%: {'MET' if share <= 0.02 else 'NOT MET'})")
    return [piece for pieces in groups.values() for piece in pieces]


def license_figure(pipeline: GuardPipeline, latencies: list[float]) -> None:
    lines = fx.GPL_BODY.count("\n")
    document = fx.MIT_DOCUMENT
    row = document.count("\n")
    outcomes: dict[int, Counter[str]] = {150: Counter(), 100: Counter()}
    for length in outcomes:
        for start in range(0, lines - 6):
            copy = fx.copy_of_gpl(length, start)
            if len("".join(copy.split())) < length:
                continue  # too near the end of the file for a copy this long
            s = Suggestion(copy, document, row, len(document.split("\n")[-1]), "c", "src/report.c", "MIT")
            result = pipeline.check(s)
            latencies.append(result.latency_ms)
            licence = next(d for d in result.decisions if d.guard == "license")
            outcomes[length][licence.action] += 1
    blocked = outcomes[150]["block"]
    print(f"[license] 150+ normalized characters of a GPL-3.0 file into an MIT file: blocked {blocked}/"
          f"{sum(outcomes[150].values())} (target every time: "
          f"{'MET' if blocked == sum(outcomes[150].values()) else 'NOT MET'})")
    allowed = outcomes[100]["allow"]
    print(f"[license] 100 normalized characters: allowed {allowed}/{sum(outcomes[100].values())} "
          f"(target allowed: {'MET' if allowed == sum(outcomes[100].values()) else 'NOT MET'})")


def secret_figure(pipeline: GuardPipeline, store: ChunkStore) -> None:
    leaked_in_index = [name for name, value in fx.SECRETS.items()
                       if store.conn.execute("SELECT count(*) FROM chunks WHERE instr(text, ?) > 0",
                                             (value,)).fetchone()[0]]
    reached = []
    trials = 0
    for name, value in fx.SECRETS.items():
        for document, text in (
            ("", value),
            ("config = {\n    'key': ", f'"{value}",\n'),
            ("def credentials():\n    return ", f'"{value}"\n'),
            ("password: ", value + "\n"),
            ("", f"{name.upper()} = {value}\n"),
        ):
            lines = document.split("\n")
            trials += 1
            s = Suggestion(text, document, len(lines) - 1, len(lines[-1]), "python", "app/settings.py", "MIT")
            if not pipeline.check(s).blocked:
                reached.append(f"{name} in {text.strip()[:20]}...")
    print(f"[secrets] planted secrets (AWS keys, private key, GitHub token, config password): "
          f"{len(leaked_in_index)} stored in chunk text, {len(reached)}/{trials} suggestion echoes not blocked "
          f"(target 0: {'MET' if not leaked_in_index and not reached else 'NOT MET'})")
    for line in reached:
        print(f"    reached {line}")
    for name in leaked_in_index:
        print(f"    {name} was not redacted by the indexer, so its text is in the index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib-pieces", type=int, default=600)
    parser.add_argument("--project-pieces", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, data_dir = Path(tmp) / "repo", Path(tmp) / "data"
        root.mkdir()
        store = build_index(root, data_dir)
        config = GuardConfig()
        config.audit = False
        pipeline = GuardPipeline.for_repository(root, data_dir, store, config)
        pipeline.check(Suggestion("x = 1\n", "", 0, 0, "python", "warm.py"))  # warm: plugin loading, caches
        latencies: list[float] = []
        corpus_figure(pipeline, latencies)
        clean = false_positive_figure(pipeline, args.stdlib_pieces, args.project_pieces, latencies)
        license_figure(pipeline, latencies)
        secret_figure(pipeline, store)
        p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        print(f"[latency] all guards per suggestion, warm, over {len(latencies)} suggestions: p50 {p50:.2f} ms, "
              f"p95 {p95:.2f} ms, max {max(latencies):.1f} ms (target p95 <= 20 ms: {'MET' if p95 <= 20 else 'NOT MET'}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        per_guard_latency(pipeline, clean)
        store.close()


if __name__ == "__main__":
    main()
