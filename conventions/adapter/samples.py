"""Mine completion samples (next-line and fill-in-the-middle) from a repository's own files."""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass, field

from copilot_index.indexer import (
    IndexConfig,
    LicenseDetector,
    Redactor,
    RepoInfo,
    Scanner,
    has_definitions,
    language_for_path,
    read_source,
    same_license,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """A cursor in a file: the model should write `middle` between `prefix` and `suffix`."""

    path: str
    prefix: str
    suffix: str
    middle: str
    kind: str  # "line" (the rest of one line) or "span" (a random span, possibly several lines)


@dataclass
class SampleSet:
    train: list[Sample] = field(default_factory=list)
    held_out: list[Sample] = field(default_factory=list)
    train_files: list[str] = field(default_factory=list)
    held_out_files: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unread: int = 0
    """Files left unread because the time budget ran out (`mine_samples`'s deadline)."""

    @property
    def files_hash(self) -> str:
        """SHA-256 over the sorted training-file list (the adapter's data lineage)."""
        return hashlib.sha256("\n".join(sorted(self.train_files)).encode()).hexdigest()


def is_held_out(path: str, fraction: float, seed: int = 0) -> bool:
    digest = int(hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()[:8], 16)
    return digest % 1000 < fraction * 1000


def line_samples(path: str, text: str, rng: random.Random, count: int) -> list[Sample]:
    """The rest of a non-trivial line after its indentation, with the whole file around it."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if len(line.strip()) >= 6 and not line.strip().startswith("#")]
    out = []
    for i in rng.sample(candidates, min(count, len(candidates))):
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip())]
        prefix = "\n".join(lines[:i]) + ("\n" if i else "") + indent
        suffix = "\n" + "\n".join(lines[i + 1 :])
        out.append(Sample(path, prefix, suffix, line.strip(), "line"))
    return out


def span_samples(path: str, text: str, rng: random.Random, count: int) -> list[Sample]:
    """Random character spans (10-120 characters) starting and ending inside non-blank text."""
    out = []
    for _ in range(count):
        if len(text) < 200:
            break
        start = rng.randrange(0, len(text) - 130)
        end = start + rng.randint(10, 120)
        middle = text[start:end]
        if not middle.strip():
            continue
        out.append(Sample(path, text[:start], text[end:], middle, "span"))
    return out


def spread(samples: list[Sample], count: int) -> list[Sample]:
    """At most `count` samples taken in turn from each file (the first of every file, then the
    second, ...), and within a file in turn from each kind (line, span, line, ...), so a cap
    leaves neither held-out files nor a kind of sample unevaluated."""
    per_path: dict[str, dict[str, list[Sample]]] = {}
    for sample in samples:
        per_path.setdefault(sample.path, {}).setdefault(sample.kind, []).append(sample)
    return _in_turn([_in_turn(list(kinds.values())) for kinds in per_path.values()])[:count]


def _in_turn(groups: list[list[Sample]]) -> list[Sample]:
    """The first of every group, then the second of every group, and so on."""
    rounds = max((len(g) for g in groups), default=0)
    return [group[i] for i in range(rounds) for group in groups if i < len(group)]


def mine_samples(
    repo: RepoInfo,
    config: IndexConfig | None = None,
    *,
    per_file: int | None = None,
    target_samples: int = 2000,
    held_out_fraction: float = 0.2,
    seed: int = 0,
    max_file_chars: int = 60_000,
    deadline: float | None = None,
) -> SampleSet:
    """Samples from the repository's own code, secrets redacted, foreign-licensed files left out; no more files
    are read once `time.monotonic()` passes `deadline`."""
    config = config or IndexConfig.load(repo.root)
    rng = random.Random(seed)
    licenses = LicenseDetector(repo.root)
    project = licenses.project_license()
    redactor = Redactor()
    result = SampleSet()
    files = [e for e in Scanner(repo, config).scan().files if has_definitions(language_for_path(e.path))]
    if per_file is None:  # spread about `target_samples` over the files, 4 to 64 each
        per_file = max(4, min(64, target_samples // max(1, len(files))))
    per_path: dict[str, list[Sample]] = {}
    for done, entry in enumerate(files):
        if deadline is not None and time.monotonic() >= deadline:
            result.unread = len(files) - done
            log.info("time budget: %d of %d files left unread", result.unread, len(files))
            break
        try:
            read = read_source(repo.root / entry.path, config, entry.data_allowed)
        except OSError:
            continue
        if isinstance(read, str):
            result.skipped[entry.path] = read
            continue
        text = redactor.redact(read[1], entry.path).text
        file_license = licenses.detect(entry.path, text)
        if project and file_license and not same_license(file_license, project):
            result.skipped[entry.path] = f"licensed {file_license}, not the project's {project}"
            continue
        if len(text) > max_file_chars:
            text = text[:max_file_chars]
        samples = line_samples(entry.path, text, rng, per_file // 2 + per_file % 2)
        samples += span_samples(entry.path, text, rng, per_file // 2)
        if samples:
            per_path[entry.path] = samples
    held = {p for p in per_path if is_held_out(p, held_out_fraction, seed)}
    if len(per_path) >= 2 and (not held or held == set(per_path)):
        # Small repositories: make sure both sides have a file (the lowest hash is held out).
        ranked = sorted(per_path, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
        held = {ranked[0]}
    for path, samples in per_path.items():
        if path in held:
            result.held_out.extend(samples)
            result.held_out_files.append(path)
        else:
            result.train.extend(samples)
            result.train_files.append(path)
    log.info("mined %d training and %d held-out samples", len(result.train), len(result.held_out))
    return result
