"""FIM prompt templates per model family, read from the `fim_templates.toml` table."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)

TABLE = "fim_templates.toml"
FALLBACK = "plain"


@dataclass(frozen=True)
class FimTemplate:
    """How one model family wants a fill-in-the-middle prompt laid out, and where it stops."""

    name: str
    format: str
    stop: tuple[str, ...]
    file_separator: str = ""
    names: tuple[str, ...] = ()
    vocab: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()

    @property
    def supports_fim(self) -> bool:
        return "{suffix}" in self.format

    @property
    def prefix_last(self) -> bool:
        """Whether the prompt ends with the prefix (SPM order): the middle then continues the
        prefix directly, with no marker where one ends and the other begins."""
        return self.supports_fim and self.format.endswith("{prefix}")

    def prompt(self, prefix: str, suffix: str = "") -> str:
        """The prompt for a completion between `prefix` and `suffix`."""
        return self.format.format(prefix=prefix, suffix=suffix)

    def sentinels(self) -> tuple[str, ...]:
        """The literal marker strings of the format (the parts around the placeholders)."""
        text = self.format.replace("{prefix}", "\0").replace("{suffix}", "\0")
        return tuple(part.strip() for part in text.split("\0") if part.strip())


@cache
def load_templates() -> tuple[FimTemplate, ...]:
    """Every template of the table, in file order."""
    raw = tomllib.loads(resources.files(__package__).joinpath(TABLE).read_text("utf-8"))
    return tuple(
        FimTemplate(
            name=entry["name"],
            format=entry["format"],
            stop=tuple(entry.get("stop", ())),
            file_separator=entry.get("file_separator", ""),
            names=tuple(entry.get("names", ())),
            vocab=tuple(entry.get("vocab", ())),
            model_types=tuple(entry.get("model_types", ())),
        )
        for entry in raw["template"]
    )


def template_named(name: str) -> FimTemplate:
    for template in load_templates():
        if template.name == name:
            return template
    known = ", ".join(t.name for t in load_templates())
    raise KeyError(f"Unknown FIM template {name!r}; known templates: {known}.")


def template_for(model_name_or_path: str, tokenizer: Any = None, config: Any = None) -> FimTemplate:
    """The template for a model, by explicit config entry, name, vocabulary, then model type."""
    templates = load_templates()
    explicit = getattr(config, "fim_template", None)
    if explicit:
        return template_named(explicit)
    lowered = str(model_name_or_path).lower()
    for template in templates:
        if any(name.lower() in lowered for name in template.names):
            return template
    vocab = tokenizer.get_vocab() if tokenizer is not None else {}
    for template in templates:
        if template.vocab and all(token in vocab for token in template.vocab):
            return template
    model_type = getattr(config, "model_type", None)
    for template in templates:
        if model_type and model_type in template.model_types:
            return template
    log.info("no FIM template matches %s; completing from the prefix only", model_name_or_path)
    return template_named(FALLBACK)
