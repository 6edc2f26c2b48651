from __future__ import annotations

import pytest

from copilot_index.server.completion.context import build_query
from copilot_index.server.completion.prompt import Budgets, assemble, fim_enabled, fit_snippet
from copilot_index.server.model.backend import Snippet
from copilot_index.server.model.templates import load_templates, template_named

SNIPPETS = [Snippet("lib/util.py", 3, 5, "def helper(x):\n    return x * 2\n", 0.9)]


def count(text: str) -> int:
    return len(text.split()) + text.count("\n")


@pytest.mark.parametrize("template", load_templates(), ids=lambda t: t.name)
def test_every_family_gets_its_own_layout(template) -> None:  # type: ignore[no-untyped-def]
    prompt = assemble(template, "app/main.py", "python", "import os\nvalue = hel", "per(3)\n", SNIPPETS, 200, count)
    assert "def helper(x):" in prompt.text
    if template.file_separator:
        assert f"{template.file_separator}lib/util.py\n" in prompt.text
        assert f"{template.file_separator}app/main.py\n" in prompt.text
    else:
        assert "# Context from lib/util.py (lines 3-5):" in prompt.text
        assert "#     return x * 2" in prompt.text
    if template.supports_fim:
        assert prompt.use_fim and prompt.suffix == "per(3)\n"
        for marker in template.sentinels():
            assert marker in prompt.text
    else:
        assert not prompt.use_fim and prompt.text.endswith("value = hel")


def test_comment_syntax_follows_the_language() -> None:
    prompt = assemble(template_named("codellama"), "src/main.go", "go", "package main\n", "", SNIPPETS, 200, count)
    assert "// Context from lib/util.py" in prompt.text


def test_budgets_cut_far_prefix_lines_and_context_first() -> None:
    template = template_named("qwen2.5-coder")
    prefix = "".join(f"line_{i} = {i}\n" for i in range(300)) + "value = "
    suffix = "".join(f"after_{i} = {i}\n" for i in range(300))
    prompt = assemble(template, "a.py", "python", prefix, suffix, SNIPPETS * 20, 100, count, Budgets(0.5, 0.2, 0.3))
    assert prompt.prefix.endswith("line_299 = 299\nvalue = ") and "line_0 = 0\n" not in prompt.prefix
    assert prompt.suffix.startswith("after_0 = 0\n") and "after_299" not in prompt.suffix
    assert count(prompt.suffix) <= 20 and len(prompt.snippets) < 20
    assert count(prompt.prefix) + count(prompt.suffix) <= 100 + 5


def test_query_uses_code_before_cursor_and_nearby_identifiers() -> None:
    query = build_query("import os\n\ndef load(path):\n    data = read_config(path)\n    ", "    return parse_items(data)\n")
    assert "data = read_config(path)" in query
    assert "parse_items" in query and "read_config" in query


def test_fim_follows_the_setting_the_template_and_the_models_own_measurement():
    fim = template_named("starcoder")
    assert fim_enabled("auto", fim, None) and fim_enabled("auto", fim, True)
    assert not fim_enabled("auto", fim, False)  # the model measured that the suffix does not help
    assert fim_enabled("on", fim, False) and not fim_enabled("off", fim, True)
    prompt = assemble(fim, "a.py", "python", "def f():\n    return ", "\nx = 1\n", [], 200, len, use_fim=False)
    assert not prompt.use_fim and prompt.suffix == "" and "<fim_suffix>" not in prompt.text


def test_without_fim_the_lines_after_the_cursor_come_as_comments_just_before_the_prefix() -> None:
    plain = template_named("plain")
    prefix, suffix = "def area(r):\n    ", "  # cursor line's rest\n\n    return pi * r * r\n\nprint(area(2))\n"
    prompt = assemble(plain, "geo.py", "python", prefix, suffix, SNIPPETS, 200, count, following=8)
    block = "# Code that follows in geo.py:\n#     return pi * r * r\n# print(area(2))\n"
    assert prompt.text == prompt.context + prefix and prompt.context.endswith(block)
    assert prompt.text.index("Context from lib/util.py") < prompt.text.index(block)  # retrieved snippets first
    assert "cursor line's rest" not in prompt.text  # the cursor's own line is left out: typing there changes nothing
    typed = assemble(plain, "geo.py", "python", prefix + "ret", suffix, SNIPPETS, 200, count, following=8)
    assert typed.text.startswith(prompt.text)

    assert "follows" not in assemble(plain, "geo.py", "python", prefix, suffix, SNIPPETS, 200, count).text  # 0: none
    one = assemble(plain, "geo.py", "python", prefix, suffix, [], 200, count, following=1)
    assert one.context == "# Code that follows in geo.py:\n#     return pi * r * r\n"
    too_small = assemble(plain, "geo.py", "python", prefix, suffix, [], 12, count, following=8)
    assert "follows" not in too_small.text  # it never takes more than the context's share
    fim = assemble(template_named("starcoder"), "geo.py", "python", prefix, suffix, [], 200, count, following=8)
    assert fim.use_fim and "follows" not in fim.text  # a FIM model reads the suffix itself


def test_following_lines_and_prefetch_delay_may_be_zero_where_other_counts_may_not() -> None:
    from copilot_index.server.completion.config import CompletionConfig
    from copilot_index.server.settings import LspConfig

    off = CompletionConfig.from_mapping({"following_lines": 0, "max_tokens": 0})
    assert off.following_lines == 0 and off.max_tokens == 32  # 0 tokens is not a setting: the default stays
    assert any("max_tokens = 0 is not a valid int" in w for w in off.warnings) and len(off.warnings) == 1
    assert CompletionConfig.from_mapping({"following_lines": -1}).following_lines == 8
    assert LspConfig.from_mapping({"prefetch_after_ms": 0}).prefetch_after_ms == 0


def test_min_confidence_is_a_probability_below_one() -> None:
    from copilot_index.server.completion.config import CompletionConfig

    assert CompletionConfig().min_confidence == 0.0  # everything shown unless the user asks otherwise
    assert CompletionConfig.from_mapping({"min_confidence": 0.5}).min_confidence == 0.5
    for bad in (1.0, 7, -0.2):
        config = CompletionConfig.from_mapping({"min_confidence": bad})
        assert config.min_confidence == 0.0 and len(config.warnings) == 1, (bad, config.warnings)
    assert "min_confidence must be at least 0 and below 1; using 0.0" in CompletionConfig.from_mapping(
        {"min_confidence": 1.5}).warnings[0]


def test_a_snippet_longer_than_the_budget_goes_in_cut_to_its_first_lines() -> None:
    body = "".join(f"    total += step_{i}(x)\n" for i in range(40))
    long = Snippet("lib/steps.py", 10, 51, "def run_steps(x):\n    total = 0\n" + body, 0.9)
    template = template_named("plain")
    prompt = assemble(template, "app/main.py", "python", "import os\nvalue = ", "", [long], 200, count)
    (kept,) = prompt.snippets
    assert kept.text.startswith("def run_steps(x):\n    total = 0\n    total += step_0(x)")
    assert "step_39" not in prompt.text
    assert kept.start_line == 10 and kept.end_line == 10 + kept.text.count("\n")
    assert f"(lines 10-{kept.end_line})" in prompt.text
    assert fit_snippet(long, 1000, count, 12) is long
    assert fit_snippet(long, 12 + count("def run_steps(x):\n    total = 0\n    total += step_0(x)\n"), count, 12) is None
