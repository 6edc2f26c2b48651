"""The secret guard: real detect-secrets through the indexer's Redactor, and digests of redacted values."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot_index.conventions.guards import SecretGuard, Suggestion
from copilot_index.indexer.redact import Redactor
from copilot_index.indexer.store import ChunkStore


def suggest(text: str, context: str = "") -> Suggestion:
    lines = context.split("\n")
    return Suggestion(text, context, len(lines) - 1, len(lines[-1]), "python", "app/settings.py")


@pytest.mark.parametrize(
    "text",
    [
        'AWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"\n',
        "token = 'ghp_Zx8Kq2Lm9Np4Rs7Tv1Wy3Ab6Cd0Ef5Gh2Ij8K'\n",
        'password = "correct-horse-battery-staple"\n',
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu8Zq3f9Lr2Yx7Vb1Nm4Kp6Qs0Tw8Ux5Hj2Gd9Fc3Ea1Ib7\n",
        "url = 'postgres://admin:s3cr3tpassw0rd@db.internal:5432/app'\n",
        "kR9vB2mXq7LpW4zN8sT1yH6cJ3fD0aGeUiOlPb5Q\n",
    ],
)
def test_secret_like_suggestions_are_blocked(text: str) -> None:
    decision = SecretGuard().check(suggest(text))
    assert decision.action == "block"
    assert text.strip().split()[-1] not in str(decision.evidence)  # evidence never repeats the value


def test_the_key_name_before_the_cursor_counts() -> None:
    assert SecretGuard().check(suggest('"Sup3rS3cretValue!"\n', "DB_PASSWORD = ")).action == "block"


@pytest.mark.parametrize(
    "text",
    ["return sorted(items, key=lambda item: item.name)\n", "password = os.environ['DB_PASSWORD']\n",
     "CHECKSUM_ALGORITHM = 'sha256'\n", "self.api_key = api_key\n"],
)
def test_ordinary_code_is_allowed(text: str) -> None:
    assert SecretGuard().check(suggest(text)).action == "allow"


def test_echo_of_a_value_the_indexer_redacted_is_blocked(tmp_path: Path) -> None:
    config = "database:\n  password: correct-horse-battery-staple-42\n"
    redaction = Redactor().redact(config, "config/settings.yaml")
    assert redaction.digests
    store = ChunkStore(tmp_path / "index.db")
    with store.transaction():
        store.conn.executemany("INSERT INTO redacted_digests(digest) VALUES (?)", [(d,) for d in redaction.digests])
    # The bare value has no key name and little entropy: only the digest can recognise it.
    assert SecretGuard().check(suggest("correct-horse-battery-staple-42\n")).action == "allow"
    for guard in (SecretGuard(store=store), SecretGuard(redacted_digests=store.redacted_digests())):
        decision = guard.check(suggest('fallback = "correct-horse-battery-staple-42"\n'))
        assert decision.action == "block" and "redacted" in decision.reason
        assert guard.check(suggest("correct-horse-battery-staple-42\n")).action == "block"
    store.close()
