"""Training-sample layouts: editor-sized FIM middles, SPM order, trimming and retrieved context."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest

from copilot_index.conventions.pretrain.dataset import SampleMix, epoch_rows, tokenize_corpus
from copilot_index.conventions.pretrain.fim import (
    FILE_SEPARATOR,
    SpecialIds,
    fim_ids,
    short_split,
    split_for_fim,
    trim_parts,
)
from copilot_index.conventions.pretrain.repo_context import SiblingIndex, group_of, split_blocks
from copilot_index.conventions.pretrain.tokenizer_train import train_tokenizer
from copilot_index.server.completion.prompt import format_context
from copilot_index.server.model.backend import Snippet
from copilot_index.server.model.templates import template_named

STDLIB = Path(sysconfig.get_paths()["stdlib"])
IDS = SpecialIds(end_of_text=0, fim_prefix=1, fim_middle=2, fim_suffix=3, file_separator=4, pad=5)
TEXT = "import os\n\n\ndef size(path):\n    info = os.stat(path)\n    return info.st_size\n\n\nprint(size('.'))\n"


def test_short_middles_are_whole_lines_or_the_rest_of_a_line():
    rng = random.Random(0)
    lines = TEXT.splitlines(keepends=True)
    for _ in range(200):
        split = short_split(TEXT, rng, line_aligned=True)
        assert split.prefix + split.middle + split.suffix == TEXT
        assert split.prefix == "" or split.prefix.endswith("\n")
        assert split.middle.endswith("\n") and 1 <= split.middle.count("\n") <= 3
        assert split.middle.splitlines(keepends=True)[0] in lines
    for _ in range(200):
        split = short_split(TEXT, rng, line_aligned=False)
        assert split.prefix + split.middle + split.suffix == TEXT
        assert split.suffix == "" or split.suffix.startswith("\n")  # the middle ends a line
        assert split.middle.count("\n") <= 2


def test_split_for_fim_uses_short_middles_at_the_given_rate():
    rng = random.Random(1)
    text = "".join(f"value_{i} = compute({i})\n" for i in range(60))
    short = [len(split_for_fim(text, rng, 0.5, short_middle_rate=1.0).middle) for _ in range(100)]
    long = [len(split_for_fim(text, rng, 0.5, short_middle_rate=0.0).middle) for _ in range(100)]
    assert max(short) < 3 * 25 and sum(long) / len(long) > 4 * sum(short) / len(short)


def test_spm_puts_the_middle_right_after_the_prefix():
    assert fim_ids([10, 11], [20], [30, 31], IDS, "spm") == [1, 3, 30, 31, 2, 10, 11, 20, 0]
    assert fim_ids([10, 11], [20], [30, 31], IDS, "psm") == [1, 10, 11, 3, 30, 31, 2, 20, 0]
    spm = template_named("copilot-index-default-spm")
    assert spm.prompt("P", "S") == "<|fim_prefix|><|fim_suffix|>S<|fim_middle|>P"


def test_trimming_cuts_far_from_the_cursor_first():
    prefix, middle, suffix = list(range(10)), [100, 101], list(range(200, 210))
    assert trim_parts(prefix, middle, suffix, 22) == (prefix, middle, suffix)
    assert trim_parts(prefix, middle, suffix, 17) == (prefix, middle, suffix[:5])
    assert trim_parts(prefix, middle, suffix, 8) == (prefix[4:], middle, [])
    assert trim_parts(prefix, middle, suffix, 1) == ([], [100], [])


def test_blocks_split_at_definitions_and_groups_follow_packages():
    blocks = split_blocks("import os\n\n@cache\ndef a():\n    pass\n\nclass B:\n    def c(self):\n        pass\n")
    assert blocks[0] == "import os" and blocks[1].startswith("@cache\ndef a")
    assert blocks[2] == "class B:" and blocks[3].lstrip().startswith("def c")
    assert group_of("stdlib/email/utils.py") == "stdlib/email"
    assert group_of("stdlib/os.py") == "stdlib" and group_of("rich/rich/text.py") == "rich"


def test_snippets_come_from_sibling_files_and_read_as_the_engine_writes_them():
    paths = ["pkg/pkg/a.py", "pkg/pkg/b.py", "pkg/pkg/c.py", "other/other/d.py"]
    texts = [
        "def parse_header_line(raw_header):\n    return raw_header.split(':')\n",
        "def render_header_line(name, value):\n    return f'{name}: {value}'\n",
        "def unrelated_thing():\n    return 42\n",
        "def parse_header_line(raw_header):\n    return None\n",  # another repository
    ]
    index = SiblingIndex(paths, texts)
    query = "line = parse_header_line(raw_header)\nrender_header_line(key, line)\n"
    found = index.snippets(0, query, random.Random(0), max_chars=1000)
    assert found and all(block.file in (1, 2) for block in found)  # never itself, never elsewhere
    assert found[0].file == 1
    rendered = index.render(0, found[:1], FILE_SEPARATOR)
    block = found[0]
    expected = format_context(template_named("copilot-index-default-spm"), "pkg/a.py", "python",
                              [Snippet("pkg/b.py", 1, 2, block.text, 1.0)])
    assert rendered == expected
    assert index.snippets(0, query, random.Random(0), max_chars=10) == []


@pytest.fixture(scope="module")
def email_corpus():
    files = sorted((STDLIB / "email").glob("*.py"))[:8]
    paths = [f"stdlib/email/{f.name}" for f in files]
    texts = [f.read_text("utf-8") for f in files]
    tokenizer = train_tokenizer(texts, vocab_size=600, max_length=256)
    return paths, texts, tokenizer


def test_epoch_rows_carry_spm_samples_with_retrieved_context(email_corpus):
    paths, texts, tokenizer = email_corpus
    data = tokenize_corpus(texts, tokenizer, context=256)
    index = SiblingIndex(paths, texts)
    mix = SampleMix(fim_rate=1.0, short_middle_rate=1.0, fim_order="spm", context_rate=1.0)
    rows = epoch_rows(data, tokenizer, 256, seed=5, mix=mix, siblings=index)
    assert (rows == epoch_rows(data, tokenizer, 256, seed=5, mix=mix, siblings=index)).all()
    text = tokenizer.decode(rows.ravel().tolist())
    samples = [s for s in text.split("<|endoftext|>") if s.startswith("<|fim_prefix|>")]
    assert len(samples) > 10
    with_context = [s for s in samples if "<|fim_middle|><|file_sep|>" in s]
    assert len(with_context) > len(samples) // 2
    for sample in with_context:
        assert sample.startswith("<|fim_prefix|><|fim_suffix|>")
        own = sample.rsplit("<|file_sep|>", 1)[1].split("\n", 1)[0]
        assert own.startswith("email/")
        sources = [part.split("\n", 1)[0] for part in sample.split("<|file_sep|>")[1:-1]]
        assert own not in sources  # the current file is never its own context
