"""Prompt assembly: token budgets for prefix, suffix and retrieved context, per the model's FIM template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from copilot_index.indexer import comment_prefix
from copilot_index.server.model.backend import Prompt, Snippet
from copilot_index.server.model.templates import FimTemplate


@dataclass(frozen=True)
class Budgets:
    """Shares of the prompt window (context length minus the tokens to generate)."""

    prefix: float = 0.5
    suffix: float = 0.2
    context: float = 0.3

    def split(self, window: int) -> tuple[int, int, int]:
        total = self.prefix + self.suffix + self.context
        return (
            int(window * self.prefix / total),
            int(window * self.suffix / total),
            int(window * self.context / total),
        )


def prompt_window(configured: int, model_context: int, new_tokens: int) -> int:
    """Tokens a prompt may take: the smaller of `completion.context_length` and the model's own
    context, less the tokens to generate and a few spare."""
    return min(configured, model_context) - new_tokens - 8


CHARS_PER_TOKEN_MAX = 8
"""No token covers more characters than this, so text beyond budget * 8 characters never fits."""


def keep_tail(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest run of whole trailing lines of `text` within `budget` tokens (a partial last line is kept)."""
    limit = budget * CHARS_PER_TOKEN_MAX if budget > 0 else 0
    if len(text) > limit:
        text = text[-limit:] if limit else ""
        text = text[text.find("\n") + 1 :] if "\n" in text else text  # no partial first line
    if count(text) <= budget:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = count(line + "\n")
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "\n".join(reversed(kept))


MIN_SNIPPET_LINES = 4
"""A snippet too long for what is left of the context budget goes in cut to its first lines, if this many fit."""


def fit_snippet(snippet: Snippet, budget: int, count: Callable[[str], int], overhead: int) -> Snippet | None:
    """`snippet` if it fits in `budget` tokens with its `overhead` (the path header), else its leading whole lines
    that do (the signature and the start of the body, as the code LoRA saw them in training), else None."""
    if count(snippet.text) + overhead <= budget:
        return snippet
    head = keep_head(snippet.text, budget - overhead, count).rstrip("\n")
    lines = head.split("\n") if head else []
    if sum(1 for line in lines if line.strip()) < MIN_SNIPPET_LINES:
        return None
    return replace(snippet, end_line=snippet.start_line + len(lines) - 1, text=head)


def keep_head(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest run of whole leading lines of `text` within `budget` tokens."""
    limit = budget * CHARS_PER_TOKEN_MAX if budget > 0 else 0
    if len(text) > limit:
        text = text[:limit] if limit else ""
        text = text[: text.rfind("\n") + 1] if "\n" in text else text  # no partial last line
    if count(text) <= budget:
        return text
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        cost = count(line + "\n")
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept) + ("\n" if kept else "")


def format_context(template: FimTemplate, path: str, language: str | None, snippets: Sequence[Snippet]) -> str:
    """Retrieved snippets in the form the model family expects, ending where the current file starts."""
    if not snippets:
        return ""
    if template.file_separator:
        sep = template.file_separator
        blocks = [f"{sep}{s.path}\n{s.text.rstrip()}\n" for s in snippets]
        return "".join(blocks) + f"{sep}{path}\n"
    mark = comment_prefix(language)
    lines: list[str] = []
    for s in snippets:
        lines.append(f"{mark} Context from {s.path} (lines {s.start_line}-{s.end_line}):")
        lines.extend(f"{mark} {line}".rstrip() for line in s.text.rstrip().split("\n"))
    return "\n".join(lines) + "\n"


FOLLOWING_SPAN = 12
"""Lines after the cursor's line that `format_following` looks through (blank ones are skipped)."""


def format_following(path: str, language: str | None, suffix: str, most: int) -> str:
    """Up to `most` non-blank lines after the cursor's line, as comments: what a model without fill-in-the-middle
    can know of the code after the cursor. The cursor's own line is left out, so typing on it does not change
    this text (the prompt's start stays the same, and a KV cache stays valid)."""
    lines = [line for line in suffix.split("\n")[1 : FOLLOWING_SPAN + 1] if line.strip()][: max(0, most)]
    if not lines:
        return ""
    mark = comment_prefix(language)
    return f"{mark} Code that follows in {path}:\n" + "".join(f"{mark} {line}".rstrip() + "\n" for line in lines)


def fim_enabled(setting: str, template: FimTemplate, fim_helps: bool | None) -> bool:
    """Whether prompts carry the suffix: `completion.fim` ("auto", "on", "off"), the template's FIM
    support, and the model's own measurement of whether the suffix helps (None: not measured)."""
    if not template.supports_fim or setting == "off":
        return False
    return setting == "on" or fim_helps is not False


def assemble(
    template: FimTemplate,
    path: str,
    language: str | None,
    prefix: str,
    suffix: str,
    snippets: Sequence[Snippet],
    window: int,
    count: Callable[[str], int],
    budgets: Budgets = Budgets(),
    use_fim: bool | None = None,
    following: int = 0,
) -> Prompt:
    """Fit prefix, suffix and context into `window` tokens; unused context budget goes to the prefix.
    `use_fim` None means: whenever the template supports it. Without fill-in-the-middle, up to `following`
    lines after the cursor's line come last in the context, as comments (`format_following`)."""
    prefix_budget, suffix_budget, context_budget = budgets.split(window)
    use_fim = template.supports_fim if use_fim is None else use_fim and template.supports_fim
    after = ""
    if not use_fim:
        after = format_following(path, language, suffix, following)
        prefix_budget += suffix_budget
        suffix, suffix_budget = "", 0
    used = count(after) if after else 0
    if used > context_budget:
        after, used = "", 0
    kept_snippets: list[Snippet] = []
    for s in snippets:
        fitted = fit_snippet(s, context_budget - used, count, 12)
        if fitted is not None:
            kept_snippets.append(fitted)
            used += count(fitted.text) + 12
    context = format_context(template, path, language, kept_snippets) + after
    context_tokens = count(context) if context else 0
    prefix_budget += max(0, context_budget - context_tokens)
    kept_prefix = keep_tail(prefix, prefix_budget, count)
    kept_suffix = keep_head(suffix, suffix_budget, count) if use_fim else ""
    full_prefix = context + kept_prefix
    text = template.prompt(full_prefix, kept_suffix) if use_fim else full_prefix
    return Prompt(full_prefix, kept_suffix, text, tuple(kept_snippets), use_fim, context)
