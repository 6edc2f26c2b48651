"""The engine's side of adapter training: samples rendered into the very prompts and targets the engine uses."""

from __future__ import annotations

from copilot_index.conventions.adapter.samples import Sample
from copilot_index.server.completion.adapters import PromptRenderer
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.model.loader import load_generator


def test_training_targets_start_with_the_whitespace_the_prompt_gave_up(tiny_model_dir):
    """Prompts end at the last non-blank character (prefix-only) or before the cursor's spaces
    (FIM); the target the adapter learns must begin with what was cut, as generation does."""
    generator = load_generator(tiny_model_dir)
    sample = Sample("pkg/a.py", "def f(x):\n    ", "\n    return x\n", "y = x", "line")
    # A FIM model ends the middle with end-of-text; a prefix-only one sees no middle to end: its
    # line ends with the token that holds the line break, as the file goes on.
    endings = {"off": "def f(x):\n    y = x\n", "on": "<|fim_middle|>    y = x<|endoftext|>"}  # a PSM model
    for fim, ending in endings.items():
        renderer = PromptRenderer(generator, CompletionConfig(model=str(tiny_model_dir), fim=fim), None)
        ids, target = renderer.example(sample, retrieval=False)
        assert (target[-1] == generator.tokenizer.eos_token_id) == (fim == "on")
        assert ending in generator.tokenizer.decode(ids + target)
    last_line = Sample("pkg/a.py", "def f(x):\n    ", "", "return x", "line")  # nothing after it: end-of-text
    off = PromptRenderer(generator, CompletionConfig(model=str(tiny_model_dir), fim="off"), None)
    assert off.example(last_line, retrieval=False)[1][-1] == generator.tokenizer.eos_token_id


def test_prompts_are_windowed_as_the_engine_windows_them(tiny_model_dir):
    """A line is a single-line completion (max_tokens), so its prompt gets the engine's larger window."""
    generator = load_generator(tiny_model_dir)
    config = CompletionConfig(model=str(tiny_model_dir), context_length=400, max_tokens=20, max_block_tokens=90)
    renderer = PromptRenderer(generator, config, None)
    line = Sample("pkg/a.py", "x = 1\n", "\n", "y = 2", "line")
    span = Sample("pkg/a.py", "x = 1\n", "\n", "y = 2", "span")
    usable = min(400, generator.context_length)
    assert renderer.window(line) == usable - 20 - 8
    assert renderer.window(span) == usable - 48 - 8
    assert renderer.prompt_limit(line) == generator.context_length - 20


def test_a_line_target_ends_with_the_token_the_file_itself_has_there(tiny_model_dir):
    """The line break is cut from the file's own tokenization of the line and what follows it: tokenized alone,
    a break and the next line's indentation make one token that the text never has (its last space goes with
    the next word), and a model taught to write it at each line's end went on to write blank lines."""
    generator = load_generator(tiny_model_dir)
    tokenizer = generator.tokenizer
    renderer = PromptRenderer(generator, CompletionConfig(model=str(tiny_model_dir), fim="off"), None)
    prefix = "class A:\n    def f(self, x):\n        "
    suffix = "\n        return total + x\n"
    sample = Sample("pkg/a.py", prefix, suffix, "total = x * 2", "line")
    ids, target = renderer.example(sample, retrieval=False)
    text = tokenizer.decode(ids) + "\n        total = x * 2" + suffix  # the prompt ends at the previous line's end
    whole = tokenizer(text, add_special_tokens=False)
    assert whole["input_ids"][: len(ids) + len(target)] == ids + target  # the file's own tokens, no others
    assert "\n" in tokenizer.decode(target[-1:]) and "\n" not in tokenizer.decode(target[:-1]).lstrip("\n ")
    alone = tokenizer("total = x * 2\n        ", add_special_tokens=False)["input_ids"][-1]
    assert target[-1] != alone  # what the old recipe ended on
