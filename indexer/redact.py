"""Secret redaction: secrets are replaced by a placeholder before anything is stored or embedded.

Detection, in order:
1. the data rules of `secret_rules.toml` (whole JWTs, URL and connection-string passwords, Azure keys,
   Authorization headers, `KEY=value` in configuration files, XML values, secrets in comments ...);
2. whole PEM private-key blocks;
3. detect-secrets' plugins and filters, scanning each file as the type its rules need (`scan_as`; lock files
   are left to the rules, as detect-secrets' own lock-file filter says);
4. an entropy check of quoted strings.
Every other occurrence of a redacted, made-up value in the same text goes too. Line count never changes, so
chunk line numbers stay true. Values are never kept: only their SHA-256 digests, which the index keys with its
own random salt before storing them (`store.keyed_digest`), so later guards can recognise a suggestion that
reproduces one without the value (or a dictionary-recoverable hash of it) being stored. What was found is
reported by kind and line (`Redaction.kinds`, `Redaction.line_kinds`), never by value.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import importlib
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import default_settings

from .keywords import split_identifier

PLACEHOLDER = "<redacted-secret>"
PEM_KIND = "Private Key"
"""The kind of every line of a private key block (BEGIN ... END); the block counts as one secret."""
RULES_FILE = "secret_rules.toml"
REPEAT_MIN_LENGTH = 8
"""A redacted value this long, shaped like a credential, is removed wherever else it occurs in the text."""

# Lines without any of these cannot hold a secret detect-secrets would report, so the
# (comparatively slow) plugin pass only sees the few lines that might.
_CANDIDATE = re.compile(
    r"[A-Za-z0-9+/=_\-]{16,}|pass|secret|token|key|auth|cred|pwd|private|bearer|://[^/\s:]+:[^@\s]+@",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"""(["'])([^"'\s]{20,})\1""")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


@dataclass
class Redaction:
    """The redacted text and what was removed (as digests only)."""

    text: str
    count: int = 0
    digests: set[str] = field(default_factory=set)
    """SHA-256 of each redacted value (kept in memory only; the index stores them keyed with its salt)."""
    kinds: Counter[str] = field(default_factory=Counter)
    line_kinds: dict[int, set[str]] = field(default_factory=dict)
    """1-based line -> the kinds of secret redacted on it."""


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _reads_as_words(value: str) -> bool:
    """Whether the identifier parts of `value` average 3+ characters: CamelCase, snake_case or dotted words,
    not random characters."""
    parts = split_identifier(value)
    return bool(parts) and sum(len(p) for p in parts) / len(parts) >= 3.0


def looks_random(value: str) -> bool:
    """High-entropy token with mixed character classes: likely a key, not an identifier or path."""
    if len(value) < 20 or "/" in value.strip("/") and value.count("/") > 2:
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if classes < 3:
        return False
    if _reads_as_words(value):
        return False
    return shannon_entropy(value) >= 4.2


def looks_like_credential(value: str) -> bool:
    """A made-up value rather than a word, a name or a reference (the `credential` shape of the rules)."""
    letters, digits = bool(re.search(r"[A-Za-z]", value)), bool(re.search(r"[0-9]", value))
    if not (letters and digits) or len(value) < 8:
        return looks_random(value)
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 3 or len(value) >= 16 or looks_random(value)


SHAPES: dict[str, Callable[[str], bool]] = {"credential": looks_like_credential}

_PLACEHOLDER_PHRASE = re.compile(
    r"(?=(?i:your|my|insert|replace|enter))"  # then words: lower or upper case with separators, or camelCase
    r"(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*|[A-Za-z][a-z]*(?:[A-Z][a-z]+)*)"
)


_REFERENCE = re.compile(
    r"\$\{[^{}]*\}?|\$\([^()]*\)?|%\(\w+\)[a-z]|%[A-Za-z_]\w*%"  # ${VAR}, $(command ...), %(name)s, %VAR%
    r"|\$(?P<name>[A-Za-z_]\w*)|!(?P<tag>[A-Za-z][\w-]*)"  # $VAR, a YAML tag
)


def is_variable_reference(value: str) -> bool:
    """`${DB_PASSWORD}`, `$(cat key)`, `$DB_PASSWORD`, `%(password)s`, `%DB_PASS%`, a YAML tag (`!vault`,
    `!Ref`): a value filled in elsewhere. A value that only starts with `$` or `!` is none: `$2IoC...` is no
    name, and a name with a credential's mix of characters (`$x5y8C0Iw...`, `!y8ai0tFL...`) is a password
    unless it is one-case words (`$DB_PASSWORD_2`)."""
    match = _REFERENCE.fullmatch(value)
    if match is None:
        return False
    name = match.group("name") or match.group("tag")
    if name is None or not looks_like_credential(name):
        return True
    return (name.isupper() or name.islower()) and _reads_as_words(name)


def is_placeholder_phrase(value: str) -> bool:
    """`your_api_key`, `MY-TOKEN-HERE`, `enterPasswordHere`: words asking for a value, not a value. A value
    that merely starts with `my` or `your` (`MYk3Xr...`; about one random value in 900 does) is no phrase:
    it has digits or a credential's mix of characters, its case does not fall on word boundaries, or its
    parts are too short to be words."""
    return bool(_PLACEHOLDER_PHRASE.fullmatch(value)) and not looks_like_credential(value) and _reads_as_words(value)


def value_digest(value: str) -> str:
    """SHA-256 of a value (what the redactor hands on; never stored as such)."""
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()


# -- the rules (data) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretRule:
    kind: str
    pattern: re.Pattern[str]
    files: tuple[str, ...] = ()
    line_requires: re.Pattern[str] | None = None
    shape: str = ""
    hints: tuple[str, ...] = ()

    def applies_to(self, path: str, lowered: str) -> bool:
        """Whether the rule runs on a file: its `files` globs, and one of its `hints` in the lower-cased text."""
        return (not self.files or _matches(path, self.files)) and (not self.hints or any(h in lowered for h in self.hints))


@dataclass(frozen=True)
class SecretRules:
    rules: tuple[SecretRule, ...]
    scan_as: tuple[tuple[str, tuple[str, ...]], ...]
    key_secret: re.Pattern[str]
    key_not_secret: re.Pattern[str]
    ignore: tuple[re.Pattern[str], ...]
    filters: tuple[Callable[[str], bool], ...]
    min_length: int
    file_filters: tuple[Callable[[str], bool], ...] = ()

    def plugins_apply(self, path: str) -> bool:
        """Whether detect-secrets' plugins and the entropy check run on `path` (not on lock files)."""
        return not any(f(path) for f in self.file_filters)

    def scan_name(self, path: str) -> str:
        """The file name detect-secrets should see for `path` (one whose extension selects the right rules)."""
        for extension, globs in self.scan_as:
            if _matches(path, globs):
                return path + extension
        return path

    def secret_key(self, key: str) -> bool:
        return bool(self.key_secret.search(key)) and not self.key_not_secret.search(key)

    def ignored(self, value: str) -> bool:
        if len(value) < self.min_length or PLACEHOLDER in value:
            return True
        return any(p.search(value) for p in self.ignore) or any(f(value) for f in self.filters)


def _matches(path: str, globs: tuple[str, ...]) -> bool:
    name = PurePosixPath(path).name.lower()
    lowered = path.lower()
    return any(fnmatch.fnmatchcase(name, g.lower()) or fnmatch.fnmatchcase(lowered, g.lower()) for g in globs)


def _import(dotted: str) -> Callable[[str], bool]:
    module, _, name = dotted.rpartition(".")
    function: Callable[[str], bool] = getattr(importlib.import_module(module), name)
    return function


@cache
def load_rules() -> SecretRules:
    """The package's `secret_rules.toml`."""
    data = tomllib.loads((resources.files("copilot_index.indexer") / RULES_FILE).read_text(encoding="utf-8"))
    rules = []
    for raw in data["rule"]:
        if raw.get("shape", "") not in ("", *SHAPES):
            raise ValueError(f"{RULES_FILE}: unknown shape {raw['shape']!r} in the rule for {raw['kind']}")
        requires = raw.get("line_requires")
        rules.append(SecretRule(raw["kind"], re.compile(raw["pattern"], re.MULTILINE), tuple(raw.get("files", ())),
                                re.compile(requires) if requires else None, raw.get("shape", ""),
                                tuple(raw.get("hints", ()))))
    values = data["values"]
    return SecretRules(
        tuple(rules),
        tuple((ext, tuple(globs)) for ext, globs in data["scan_as"].items()),
        re.compile(data["keywords"]["secret"]),
        re.compile(data["keywords"]["not_secret"]),
        tuple(re.compile(p) for p in values["ignore"]),
        tuple(_import(name) for name in values["filters"]),
        int(values["min_length"]),
        tuple(_import(name) for name in data["files"]["filters"]),
    )


# -- redaction -------------------------------------------------------------------------------------------


@dataclass
class _Pass:
    """One text being redacted: its lines, the result, and the values found (in memory only)."""

    lines: list[str]
    result: Redaction
    values: dict[str, str] = field(default_factory=dict)
    """value -> kind"""

    def record(self, i: int, value: str, kind: str, counted: bool = True) -> None:
        if counted:  # a key block's later lines belong to the secret its first line counted
            self.result.count += 1
            self.result.kinds[kind] += 1
        self.result.line_kinds.setdefault(i + 1, set()).add(kind)
        if value not in self.values:
            self.values[value] = kind
            self.result.digests.add(value_digest(value))

    def replace(self, i: int, value: str, kind: str, counted: bool = True) -> bool:
        if not value or value == PLACEHOLDER or value not in self.lines[i]:
            return False
        self.lines[i] = self.lines[i].replace(value, PLACEHOLDER)
        self.record(i, value, kind, counted)
        return True


class Redactor:
    """Finds and replaces secrets in file text."""

    def __init__(self, rules: SecretRules | None = None) -> None:
        self.rules = rules or load_rules()

    def redact(self, text: str, path: str = "file.txt") -> Redaction:
        lines = text.split("\n")
        work = _Pass(lines, Redaction(text=text))
        self._redact_rules(text, path, work)
        self._redact_pem_blocks(work)
        candidates = [(i, line) for i, line in enumerate(lines) if _CANDIDATE.search(line)]
        if candidates and self.rules.plugins_apply(path):
            self._redact_plugins(candidates, path, work)
            for i, _ in candidates:
                self._redact_entropy(i, work)
        self._redact_repeats(work)
        if work.result.count:
            work.result.text = "\n".join(lines)
        return work.result

    def _redact_rules(self, text: str, path: str, work: _Pass) -> None:
        """Apply the data rules to the original text; replace the values found by their spans."""
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", text))
        spans: dict[int, list[tuple[int, int, str]]] = {}
        lowered = text.lower()
        for rule in self.rules.rules:
            if not rule.applies_to(path, lowered):
                continue
            for match in rule.pattern.finditer(text):
                found = self._rule_value(rule, match, path)
                if found is None:
                    continue
                start, end = found
                i = bisect.bisect_right(starts, start) - 1
                if rule.line_requires is not None and not rule.line_requires.search(work.lines[i]):
                    continue
                spans.setdefault(i, []).append((start - starts[i], end - starts[i], rule.kind))
        for i, found_spans in spans.items():
            line, taken = work.lines[i], -1
            kept: list[tuple[int, int, str]] = []
            for start, end, kind in sorted(found_spans, key=lambda s: (s[0], -s[1])):
                if start >= taken:  # overlapping matches: the first, longest one wins
                    kept.append((start, end, kind))
                    taken = end
            for start, end, kind in reversed(kept):
                work.record(i, line[start:end], kind)
                line = line[:start] + PLACEHOLDER + line[end:]
            work.lines[i] = line

    def _rule_value(self, rule: SecretRule, match: re.Match[str], path: str) -> tuple[int, int] | None:
        """The span of the secret a rule's match holds, or None when the match is no secret."""
        names = [n for n in match.re.groupindex if n.startswith("secret") and match.group(n) is not None]
        start, end = match.span(names[0]) if names else match.span()
        value = match.string[start:end]
        if "\n" in value or self.rules.ignored(value):
            return None
        if "key" in match.re.groupindex and not self.rules.secret_key(match.group("key")):
            return None
        if rule.shape and not SHAPES[rule.shape](value):
            return None
        return start, end

    def _redact_plugins(self, candidates: list[tuple[int, str]], path: str, work: _Pass) -> None:
        # Numbered from the lines as they are now: values the rules redacted are not found twice.
        numbered = [(n + 1, work.lines[i]) for n, (i, _) in enumerate(candidates)]
        with default_settings():
            found = list(_process_line_based_plugins(numbered, filename=self.rules.scan_name(path)))
        for secret in found:
            if secret.secret_value is None:
                continue
            i = candidates[secret.line_number - 1][0]
            value = _whole_token(work.lines[i], secret.secret_value)
            # A tiny "secret" (detect-secrets' hex plugin reports 2-char fragments) is noise.
            if len(value) < 6 or _PEM_BEGIN.search(work.lines[i]) or _PEM_END.search(work.lines[i]):
                continue
            if secret.type == "Secret Keyword" and (self.rules.ignored(value)
                                                     or self._describes_a_secret(work.lines[i], value)):
                continue  # a placeholder or a reference ([values]), or a key that only describes a secret
            work.replace(i, value, secret.type)

    def _describes_a_secret(self, line: str, value: str) -> bool:
        """Whether the key detect-secrets' keyword plugin matched only names something about a secret
        (`secretName: tls-cert`, `password_file = ...`): [keywords].not_secret."""
        key = re.search(r"([\w.-]+)[\]'\"]*[ \t]*(?::=|=>|[:=!]=?=?)[ \t]*[@'\"`]?" + re.escape(value), line)
        return key is not None and bool(self.rules.key_not_secret.search(key.group(1)))

    def _redact_entropy(self, i: int, work: _Pass) -> None:
        for match in _QUOTED.finditer(work.lines[i]):
            value = match.group(2)
            if looks_random(value):
                work.replace(i, value, "High entropy string")

    def _redact_pem_blocks(self, work: _Pass) -> None:
        """Every line between a private key's BEGIN and END goes; the block counts as one secret."""
        inside = counted = False
        for i, line in enumerate(work.lines):
            if _PEM_BEGIN.search(line):
                inside, counted = True, False
                continue
            if inside and _PEM_END.search(line):
                inside = False
                continue
            if inside and line.strip() and work.replace(i, line.strip(), PEM_KIND, counted=not counted):
                counted = True

    def _redact_repeats(self, work: _Pass) -> None:
        """A redacted value that occurs again elsewhere in the text is removed there too (a made-up value
        only: a word such as `password` in `user:password@host` stays where it is code)."""
        repeated = sorted((v for v in work.values if len(v) >= REPEAT_MIN_LENGTH and looks_like_credential(v)
                           and not self.rules.ignored(v)), key=len, reverse=True)
        for value in repeated:
            for i, line in enumerate(work.lines):
                if value in line:
                    work.replace(i, value, work.values[value])


def _whole_token(line: str, value: str) -> str:
    """The full token a plugin's short match starts (detect-secrets' GitHub plugin reports only `ghp`)."""
    if len(value) >= 6:
        return value
    match = re.search(re.escape(value) + r"[A-Za-z0-9_\-]{16,}", line)
    return match.group(0) if match else value
