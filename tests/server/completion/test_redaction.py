"""The open document's secrets are replaced before any backend sees the prompt (real Redactor, real index)."""

from __future__ import annotations

import re

import pytest
from scripted_backend import ScriptedBackend

from copilot_index.indexer import DataDir, Index, Redactor
from copilot_index.indexer.redact import PLACEHOLDER
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.redaction import DocumentRedactor
from copilot_index.server.completion.request import CompletionRequest

VALUE = "Zq8Lm3Rt7Wx2Kp5Nv9Bc"
SHORT = VALUE[:16]
OTHER = "Hd4Fs6Gj8Kl1Qw3Er5Ty"
KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB
aFDrBz9vFqU4yqHcZ9PmR6iJ8dMVEJv0Cw5r1J6X2pN3vQ8kR4sT7uY1wZ0xA2bC
-----END RSA PRIVATE KEY-----"""


def pieces(value: str) -> list[str]:
    """Every 8-character piece of `value`: what a model copying part of it would write."""
    return [value[i:i + 8] for i in range(len(value) - 7)]


def leaked(text: str, *values: str) -> list[str]:
    return [p for v in values for p in pieces(v) if p in text]


def split(document: str, marker: str = "|") -> tuple[str, str]:
    at = document.index(marker)
    return document[:at], document[at + len(marker):]


@pytest.mark.parametrize(
    "document",
    [
        f'ADMIN_PASSWORD = "{VALUE}"\n\n\ndef connect(db):\n    return db.login(|)\n',  # above the cursor
        f'def connect(db):\n    return db.login(|)\n\n\nADMIN_PASSWORD = "{VALUE}"\n',  # below it
        f'TOKEN = "{OTHER}"\n\ndef connect(db):\n    password = "{VALUE}"|\n',  # on the cursor's line, before it
        f'def connect(db):\n    password = "{VALUE[:9]}|{VALUE[9:]}"\n',  # the cursor inside the value
        f'def connect(db):\n    |return db.login(password="{VALUE}")\n',  # after it on the line
        # reused on the cursor's line, where alone it would pass (too short to look random), defined below
        f'def connect(db):\n    return db.login("{SHORT}"|)\n\n\nADMIN_PASSWORD = "{SHORT}"\n',
    ],
)
def test_no_piece_of_a_value_is_left_on_either_side_of_the_cursor(document: str) -> None:
    prefix, suffix = split(document)
    clean_prefix, clean_suffix = DocumentRedactor().clean("app/db.py", prefix, suffix)
    assert not leaked(clean_prefix + clean_suffix, VALUE, OTHER, SHORT)
    assert PLACEHOLDER in clean_prefix + clean_suffix
    assert clean_prefix.count("\n") == prefix.count("\n") and clean_suffix.count("\n") == suffix.count("\n")


def test_text_without_secrets_comes_back_as_it_was() -> None:
    prefix, suffix = split("import os\n\n\ndef area(r):\n    return 3.14159 * r|\n\n\nprint(area(2))\n")
    assert DocumentRedactor().clean("geometry.py", prefix, suffix) == (prefix, suffix)


def test_a_line_of_a_private_key_under_the_cursor_goes_whole() -> None:
    lines = KEY.split("\n")
    prefix = "KEY = '''\n" + "\n".join(lines[:2]) + "\n" + lines[2][:20]
    suffix = lines[2][20:] + "\n" + lines[3] + "\n'''\n"
    clean_prefix, clean_suffix = DocumentRedactor().clean("keys.py", prefix, suffix)
    assert not leaked(clean_prefix + clean_suffix, lines[1], lines[2])
    assert "BEGIN RSA PRIVATE KEY" in clean_prefix and "END RSA PRIVATE KEY" in clean_suffix


def test_typing_on_a_line_redacts_the_rest_of_the_document_once() -> None:
    class Counting(Redactor):
        lengths: list[int] = []

        def redact(self, text, path="file.txt"):  # type: ignore[no-untyped-def]
            self.lengths.append(len(text))
            return super().redact(text, path)

    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(200))
    document = f'ADMIN_PASSWORD = "{VALUE}"\n\n{body}def g(db):\n    return db.login('
    redactor = Counting()
    documents = DocumentRedactor(redactor)
    for typed in ("p", "pa", "pas", "pass"):
        clean_prefix, _ = documents.clean("app/db.py", document + typed, ")\n")
        assert clean_prefix.endswith(typed) and not leaked(clean_prefix, VALUE)
    whole = [n for n in redactor.lengths if n > len(body)]
    assert len(whole) == 1, redactor.lengths  # the cursor's line alone is redacted on each keystroke
    assert max(n for n in redactor.lengths if n <= len(body)) < 200


def test_the_prompt_a_local_model_gets_holds_no_secret_of_the_open_document(repo, data_dir) -> None:
    """A local model that sees a value can copy it, whole or in part; so it never sees one."""
    class Recording(ScriptedBackend):
        def __init__(self) -> None:
            super().__init__("")
            self.prompts: list[str] = []

        def generate(self, prompt, *, max_new_tokens, single_line, cancel):  # type: ignore[no-untyped-def]
            self.prompts.append(prompt.text)
            return super().generate(prompt, max_new_tokens=max_new_tokens, single_line=single_line, cancel=cancel)

    repo.write("app/db.py", "def connect(db):\n    return db\n")
    repo.commit("code")
    backend = Recording()
    engine = CompletionEngine(Index(resolve_repo(repo.root), DataDir(data_dir)), CompletionConfig(), backend=backend,
                              guards=None)
    document = f'ADMIN_PASSWORD = "{VALUE}"\nTOKEN = "{OTHER}"\n\n\ndef fetch(db):\n    password = '
    lines = document.split("\n")
    engine.complete(CompletionRequest("app/new.py", document, len(lines) - 1, len(lines[-1])))
    assert engine.config.destination is None and backend.prompts
    assert not leaked(backend.prompts[0], VALUE, OTHER), backend.prompts[0]
    assert re.search(r"def fetch\(db\):\n    password = $", backend.prompts[0].split("<|fim_suffix|>")[0])
