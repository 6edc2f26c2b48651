"""The code-search embedder pipeline: corpus mining (licences, exclusions, pair shapes), assembly, training runs, export."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from copilot_index.conventions.embeddings import codesearch
from copilot_index.conventions.embeddings.codesearch import CodeSearchArgs, export, segment_pairs, train
from copilot_index.conventions.embeddings.corpus import (
    CorpusOptions,
    CorpusPair,
    assemble,
    behaviour_query,
    excluded_name,
    mine_tree,
    write_jsonl,
)
from copilot_index.conventions.embeddings.corpus_sources import debian_copyright, discover, is_permissive
from copilot_index.indexer import Embedder

STDLIB = Path(sysconfig.get_paths()["stdlib"])
GPL_GO = ("// Copyright the Foo authors. GPL-2.0-or-later.\n\n// Shout returns the text in upper case.\n"
          "func Shout(s string) string {\n\treturn strings.ToUpper(s)\n}\n")


@pytest.mark.parametrize(("expression", "allowed"), [
    ("MIT", True), ("Expat", True), ("MIT OR Apache-2.0", True), ("(BSD-3-Clause OR GPL-2.0)", True),
    ("Apache-2.0 AND MIT", True), ("BSD-3-clause~Google", True), ("BlueOak-1.0.0", True), ("Go", True),
    ("GPL-3+", False), ("MPL-2", False), ("MIT AND GPL-2", False), ("LGPL-2.1 or GPL-3", False), ("", False),
])
def test_licence_expressions(expression: str, allowed: bool) -> None:
    assert is_permissive(expression) is allowed


def test_debian_copyright_names_the_main_licence_and_the_files_under_other_licences(tmp_path: Path) -> None:
    copyright_file = tmp_path / "copyright"
    copyright_file.write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 Foo\nLicense: Expat\n Permission is hereby granted, free of charge ...\n\n"
        "Files: contrib/shout.go\n other/*\nCopyright: 2019 Bar\nLicense: GPL-2+\n\n"
        "Files: debian/*\nCopyright: 2021 Packager\nLicense: GPL-2+\n\n"
        "License: GPL-2+\n This program is free software ...\n"
    )
    assert debian_copyright(copyright_file) == ("Expat", ["contrib/shout.go", "other/*"])


@pytest.mark.parametrize(("text", "project"), [
    ("pip/_vendor/requests/api.py", "requests"), ("github.com/gin-gonic/gin/context.go", "gin"),
    ("express-session", "express"), ("lib/_click_compat.py", "click"), ("marshmallow-dataclass", "marshmallow"),
    ("plugin/engine.go", None), ("lib/regexpress.js", None), ("requestsession.py", None),
])
def test_excluded_projects_are_matched_as_words(text: str, project: str | None) -> None:
    assert excluded_name(text) == project


def test_a_leading_symbol_name_is_dropped_from_doc_queries() -> None:
    assert behaviour_query("New returns an error with the message.", "# errors.go :: New\nfunc New") == (
        "returns an error with the message.")
    assert behaviour_query("GetInt returns the value as an int.", "# c.go :: Context.GetInt\nfunc") == (
        "returns the value as an int.")
    assert behaviour_query("Newline handling is hard.", "# c.go :: New\nfunc") == "Newline handling is hard."


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """Unpacked packages as `corpus_sources.discover` finds them: real stdlib code plus licence records."""
    root = tmp_path / "corpus"
    wheel = root / "sources" / "pypi" / "matchlib"
    (wheel / "matchlib").mkdir(parents=True)
    shutil.copy(STDLIB / "fnmatch.py", wheel / "matchlib" / "fnmatch.py")
    shutil.copy(STDLIB / "shlex.py", wheel / "matchlib" / "shlex.py")
    (wheel / "matchlib" / "_vendor" / "requests").mkdir(parents=True)
    shutil.copy(STDLIB / "fnmatch.py", wheel / "matchlib" / "_vendor" / "requests" / "api.py")
    shutil.copy(STDLIB / "bisect.py", wheel / "matchlib" / "click_compat.py")
    (wheel / "matchlib-1.0.dist-info").mkdir()
    (wheel / "matchlib-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: matchlib\nVersion: 1.0\nLicense-Expression: MIT\n")
    npm = root / "sources" / "npm"
    for name, licence in (("strutil", "ISC"), ("copyleft-util", "GPL-3.0-only")):
        (npm / name).mkdir(parents=True)
        (npm / name / "package.json").write_text(json.dumps({"name": name, "version": "2.0.0", "license": licence}))
        (npm / name / "index.js").write_text(
            "/**\n * Reverse the characters of a string.\n */\nfunction reverseString(text) {\n"
            "  return text.split('').reverse().join('');\n}\n\nmodule.exports = { reverseString };\n")
    deb = root / "sources" / "debian" / "golang-github-foo-shout-dev"
    src = deb / "usr" / "share" / "gocode" / "src" / "github.com" / "foo" / "shout"
    (src / "contrib").mkdir(parents=True)
    (src / "shout.go").write_text(
        "package shout\n\nimport \"strings\"\n\n// Whisper returns the text in lower case, trimmed of spaces.\n"
        "func Whisper(s string) string {\n\treturn strings.TrimSpace(strings.ToLower(s))\n}\n")
    (src / "contrib" / "shout.go").write_text("package contrib\n\nimport \"strings\"\n\n" + GPL_GO.split("\n\n", 1)[1])
    doc = deb / "usr" / "share" / "doc" / "golang-github-foo-shout-dev"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nCopyright: Foo\nLicense: Expat\n\nFiles: contrib/*\nCopyright: Bar\n"
                                   "License: GPL-2+\n")
    return root


def test_discovery_keeps_permissive_trees_and_says_why_others_are_left_out(corpus_dir: Path) -> None:
    found = discover(corpus_dir)
    assert sorted(t.name for t in found.trees) == ["debian:golang-github-foo-shout-dev", "npm:strutil", "pypi:matchlib"]
    assert "not permissive" in found.rejected["npm:copyleft-util"]
    tree = next(t for t in found.trees if t.name == "pypi:matchlib")
    record = "sources/pypi/matchlib/matchlib-1.0.dist-info/METADATA"
    assert (tree.version, tree.licence, tree.licence_record) == ("1.0", "MIT", record)


def test_mining_gives_indexer_shaped_pairs_without_excluded_or_other_licence_code(corpus_dir: Path) -> None:
    trees = {t.name: t for t in discover(corpus_dir).trees}
    python = mine_tree(trees["pypi:matchlib"])
    assert {p.language for p in python} == {"python"}
    assert not [p for p in python if "_vendor" in p.path or "click" in p.path]
    [doc] = [p for p in python if p.source == "doc" and p.positive.startswith("# matchlib/fnmatch.py :: fnmatch\n")]
    assert doc.query == "Test whether FILENAME matches PATTERN."
    assert doc.positive.startswith("# matchlib/fnmatch.py :: fnmatch\ndef fnmatch(name, pat):")
    assert "Test whether FILENAME" not in doc.positive and "return fnmatchcase(name, pat)" in doc.positive
    assert {p.source for p in python} >= {"doc", "name"}
    assert all(p.unit == "pypi:matchlib" and p.tree == "pypi:matchlib" for p in python)
    go = mine_tree(trees["debian:golang-github-foo-shout-dev"])
    assert [(p.query, p.path) for p in go if p.source == "doc"] == [
        ("returns the text in lower case, trimmed of spaces.", "shout.go")]  # without its own name in front
    [js] = [p for p in mine_tree(trees["npm:strutil"]) if p.source == "doc"]
    assert js.query == "Reverse the characters of a string." and js.language == "javascript"
    assert js.positive.startswith("# index.js :: reverseString\nfunction reverseString(text) {")


def _pair(unit: str, query: str, code: str, language: str = "python", source: str = "doc") -> CorpusPair:
    return CorpusPair(query, f"# {unit}.py :: f\n{code}", source, language, unit, unit, f"{unit}.py")


def test_assembly_dedupes_caps_per_unit_and_holds_out_whole_units_per_language() -> None:
    pairs = [_pair(f"pkg{u}", f"Compute the value number {i} of package {u}.", f"return {u} * {i}")
             for u in range(10) for i in range(30)]
    pairs += [_pair("pkg0", "Compute the value number 0 of package 0.", "return 0 * 0")]  # a duplicate
    pairs += [_pair(f"gopkg{u}", f"Parse the header field {i} of request {u}.", f"return h[{i}]", "go")
              for u in range(4) for i in range(10)]
    train, held = assemble(pairs, CorpusOptions(caps={"doc": 20}, held_out_share=0.2, seed=7))
    kept = train + held
    assert len(kept) == 10 * 20 + 4 * 10
    assert len({(p.query, p.positive) for p in kept}) == len(kept)
    assert not {p.unit for p in train} & {p.unit for p in held}
    assert {p.language for p in held} == {"python", "go"}
    assert 1 <= len({p.unit for p in held if p.language == "python"}) <= 4
    assert len({p.unit for p in held if p.language == "go"}) == 1


def test_segments_walk_a_seeded_order_and_start_a_new_pass_when_the_pairs_run_out() -> None:
    pairs = [_pair("pkg", f"Query number {i} for the test.", f"return {i}") for i in range(10)]
    first, second, third = (segment_pairs(pairs, k, 4, seed=3) for k in range(3))
    assert [p.query for p in first] == [p.query for p in segment_pairs(pairs, 0, 4, seed=3)]
    assert len({p.query for p in first + second}) == 8
    assert len(third) == 4 and len({p.query for p in first + second + third}) == 10


def test_a_run_checkpoints_resumes_and_exports_fp16_weights_that_load_as_fp32(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safetensors import safe_open

    pairs = [_pair(f"pkg{u}", f"Return item {i} of the list for {u}.", f"return items[{i}] + {u}") for u in range(6)
             for i in range(12)]
    corpus = tmp_path / "pairs"
    train_pairs, held = assemble(pairs, CorpusOptions(held_out_share=0.2))
    write_jsonl(corpus / "train.jsonl", train_pairs)
    write_jsonl(corpus / "held_out.jsonl", held)
    (corpus / "corpus.json").write_text(json.dumps({
        "trees": [], "rejected": {}, "excluded_projects": ["flask"], "excluded_dirs": [], "stdlib_benchmark_files": [],
        "options": {"caps": {"doc": 1500}}, "train": {}, "held_out": {}, "held_out_units": []}))
    args = CodeSearchArgs(corpus=corpus, run_dir=tmp_path / "run", out=tmp_path / "model", batch_size=4,
                          segment_steps=1, max_steps=1, eval_every=1, eval_queries=6, eval_pool=12, eval_min_queries=4,
                          threads=1)
    state = train(args)
    assert (state["segment"], state["step"], state["stopped"]) == (1, 1, "max_steps 1 reached")
    args.max_steps, args.eval_every = 3, 3
    run_segment = codesearch._run_segment

    def run_then_spend_the_budget(*arguments) -> None:  # type: ignore[no-untyped-def]
        run_segment(*arguments)
        args.max_hours = 0

    monkeypatch.setattr(codesearch, "_run_segment", run_then_spend_the_budget)
    state = train(args)  # resumes at the second segment instead of starting again
    assert (state["segment"], state["step"], state["stopped"]) == (2, 2, "time budget spent")
    assert [e["step"] for e in state["evals"]] == [0, 1, 2]  # the clock stopped it, and its last checkpoint is measured
    saved = torch.load(args.run_dir / "optimizer.pt", weights_only=True)
    # one AdamW across segments and across the resume: its moments have seen both steps, not just the last one
    assert saved["step"] == 2 and {float(s["step"]) for s in saved["optimizer"]["state"].values()} == {2.0}
    out = export(args)
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_tensor(name).dtype) for name in weights.keys()} == {"torch.float16"}
    embedder = Embedder(str(out))
    assert {str(p.dtype) for p in embedder.model.parameters()} == {"torch.float32"}
    vectors = embedder.embed(["return items[0]"])
    assert vectors.dtype == np.float32 and vectors.shape == (1, 384)
    card = (out / "MODEL_CARD.md").read_text()
    assert "flask" in card
    assert state["hardware"] == "1 CPU threads shared with other work" and "on 1 CPU threads" in card
