"""Shared inputs of the guard benchmark and tests: the labelled corpus, a planted repository, clean pieces."""

from __future__ import annotations

import random
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

from copilot_index.conventions.guards import Suggestion
from copilot_index.indexer.languages import language_for_path

CORPUS = Path(__file__).parent / "guard_corpus"
PROJECT = Path(__file__).resolve().parents[2]

GPL_HEADER = """/*
 * matrix.c - small dense matrix helpers
 * Copyright (C) 2024 Example Authors
 *
 * This program is free software: you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation, either version 3 of the License, or
 * (at your option) any later version.
 */
"""
GPL_BODY = """#include <stdlib.h>

typedef struct { int rows, cols; double *cells; } matrix;

matrix *matrix_new(int rows, int cols) {
    matrix *m = malloc(sizeof *m);
    m->rows = rows; m->cols = cols;
    m->cells = calloc((size_t)rows * cols, sizeof(double));
    return m;
}

void matrix_scale_rows_by_column_norms(matrix *m, const double *weights, double epsilon) {
    for (int r = 0; r < m->rows; r++) {
        double total = 0.0;
        for (int c = 0; c < m->cols; c++) {
            double v = m->cells[r * m->cols + c] * weights[c];
            total += v * v;
        }
        double scale = total > epsilon ? 1.0 / total : 1.0 / epsilon;
        for (int c = 0; c < m->cols; c++) {
            m->cells[r * m->cols + c] = m->cells[r * m->cols + c] * scale + weights[c] * epsilon;
        }
    }
}

double matrix_trace_of_product_with_transpose(const matrix *a, const matrix *b) {
    double trace = 0.0;
    for (int i = 0; i < a->rows; i++)
        for (int k = 0; k < a->cols; k++)
            trace += a->cells[i * a->cols + k] * b->cells[i * b->cols + k];
    return trace;
}
"""
MIT_LICENSE = """MIT License

Copyright (c) 2024 Example

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction.
"""
MIT_DOCUMENT = """#include <stdio.h>

static int count_words(const char *text) {
    int words = 0, inside = 0;
    for (; *text; text++) {
        if (*text == ' ') inside = 0;
        else if (!inside) { inside = 1; words++; }
    }
    return words;
}

int report(const char *text) {
    """

SECRETS = {
    "aws_access_key": "AKIAQX7PLM2VN4HB9TZW",
    "aws_secret_key": "kR9vB2mXq7LpW4zN8sT1yH6cJ3fD0aGeUiOlPb5Q",
    "github_token": "ghp_Zx8Kq2Lm9Np4Rs7Tv1Wy3Ab6Cd0Ef5Gh2Ij8K",
    "db_password": "correct-horse-battery-staple-42",
    "private_key_line": "MIIEowIBAAKCAQEAu8Zq3f9Lr2Yx7Vb1Nm4Kp6Qs0Tw8Ux5Hj2Gd9Fc3Ea1Ib7",
}
SECRET_FILES = {
    "deploy/aws.py": f'AWS_ACCESS_KEY_ID = "{SECRETS["aws_access_key"]}"\n'
    f'AWS_SECRET_ACCESS_KEY = "{SECRETS["aws_secret_key"]}"\n',
    "ci/release.sh": f'export GITHUB_TOKEN={SECRETS["github_token"]}\ngh release create "$1"\n',
    "config/settings.yaml": f"database:\n  host: db.internal\n  password: {SECRETS['db_password']}\n",
    "keys/server.pem": "-----BEGIN RSA PRIVATE KEY-----\n" + SECRETS["private_key_line"] + "\n"
    "-----END RSA PRIVATE KEY-----\n",
}


@dataclass
class Labelled:
    id: str
    expect: str
    cwe: str
    suggestion: Suggestion


def load_corpus() -> list[Labelled]:
    items = []
    for path in sorted(CORPUS.glob("*.toml")):
        for raw in tomllib.loads(path.read_text(encoding="utf-8"))["snippet"]:
            context = raw["context"]
            lines = context.split("\n")
            ext = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "java": "java", "c": "c",
                   "cpp": "cpp"}[raw["language"]]
            suggestion = Suggestion(raw["text"], context, len(lines) - 1, len(lines[-1]), raw["language"],
                                    f"src/{raw['id']}.{ext}", "MIT")
            items.append(Labelled(raw["id"], raw["expect"], raw["cwe"], suggestion))
    return items


def write_planted_repo(root: Path) -> None:
    """A repository under MIT with one GPL-3.0 file and secrets in config files."""
    files = {"LICENSE": MIT_LICENSE, "gpl/matrix.c": GPL_HEADER + GPL_BODY, "src/report.c": MIT_DOCUMENT + "}\n",
             **SECRET_FILES}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def copy_of_gpl(normalized_chars: int, start_line: int) -> str:
    """Text from the GPL body, from `start_line` on, holding exactly `normalized_chars` non-space characters."""
    text = "\n".join(GPL_BODY.split("\n")[start_line:])
    kept, out = 0, []
    for ch in text:
        if kept == normalized_chars:
            break
        out.append(ch)
        kept += not ch.isspace()
    return "".join(out)


def clean_pieces(files: list[Path], root: Path, count: int, seed: int) -> list[Suggestion]:
    """Suggestion-sized pieces (1 to 8 lines, at most 400 characters) of clean files, cursor at a line start."""
    rng = random.Random(seed)
    texts = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.count("\n") > 10:
            texts.append((path, text))
    pieces = []
    while len(pieces) < count and texts:
        path, text = rng.choice(texts)
        lines = text.split("\n")
        start = rng.randrange(0, len(lines) - 2)
        size = rng.randint(1, 8)
        body = "\n".join(lines[start : start + size])[:400]
        if not body.strip():
            continue
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        pieces.append(Suggestion(body + "\n", "\n".join(lines[:start]) + ("\n" if start else ""), start, 0,
                                 language_for_path(rel) or "text", rel, None))
    return pieces


def stdlib_files(limit: int, seed: int) -> tuple[Path, list[Path]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not {"test", "tests", "site-packages", "idlelib"} & set(p.parts))
    random.Random(seed).shuffle(files)
    return root, files[:limit]


def project_files() -> list[Path]:
    return sorted(p for folder in ("indexer", "conventions", "server") for p in (PROJECT / folder).rglob("*.py"))
