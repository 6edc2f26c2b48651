"""The secret guard: real detect-secrets through the indexer's Redactor, and keyed digests of redacted values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from copilot_index.conventions.guards import GuardPipeline, SecretGuard, Suggestion
from copilot_index.indexer import DataDir, Index, RepoInfo
from copilot_index.indexer.redact import Redactor, value_digest
from copilot_index.indexer.store import DIGEST_SALT, ChunkStore, StoredFile

WEAK = "correct-horse-battery-staple-42"
CONFIG = f"database:\n  password: {WEAK}\n"


def suggest(text: str, context: str = "", path: str = "app/settings.py") -> Suggestion:
    lines = context.split("\n")
    return Suggestion(text, context, len(lines) - 1, len(lines[-1]), "python", path)


def indexed(root: Path, text: str = CONFIG, path: str = "config/settings.yaml") -> Index:
    """An index of `root` holding one file's redaction, written the way the indexer writes it."""
    redaction = Redactor().redact(text, path)
    assert redaction.digests
    index = Index(RepoInfo(root, None), DataDir(root / "data"))
    store = ChunkStore(index.data_dir.database)
    with store.transaction():
        store.write_file(StoredFile(path, "hash", len(text), 1), "yaml", [], [], redaction.count, redaction.digests)
    store.close()
    return index


@pytest.mark.parametrize(
    "text",
    [
        'AWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"\n',
        "token = 'ghp_Zx8Kq2Lm9Np4Rs7Tv1Wy3Ab6Cd0Ef5Gh2Ij8K'\n",
        'password = "correct-horse-battery-staple"\n',
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu8Zq3f9Lr2Yx7Vb1Nm4Kp6Qs0Tw8Ux5Hj2Gd9Fc3Ea1Ib7\n",
        "url = 'postgres://admin:s3cr3tpassw0rd@db.internal:5432/app'\n",
        "kR9vB2mXq7LpW4zN8sT1yH6cJ3fD0aGeUiOlPb5Q\n",
        "cache = 'redis://:Rk38dnW0qPz7@cache.internal:6379/0'\n",
        'headers = {"Authorization": "Basic ZGVwbG95OlNlY3JldFBhc3N3b3JkMTIz"}\n',
        "# admin password: Adm1n-Passw0rd!\n",
        'id_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"\n',
    ],
)
def test_secret_like_suggestions_are_blocked(text: str) -> None:
    decision = SecretGuard().check(suggest(text))
    assert decision.action == "block"
    value = text.strip().split()[-1].strip("'\"}")
    assert value[-12:] not in decision.reason + json.dumps(decision.evidence)  # never repeats the value


def test_the_key_name_before_the_cursor_counts() -> None:
    assert SecretGuard().check(suggest('"Sup3rS3cretValue!"\n', "DB_PASSWORD = ")).action == "block"


def test_a_value_cut_before_its_closing_quote_is_judged_as_the_string_it_opens() -> None:
    """A suggestion stops at the line's token budget: `password = "5ZJZ2ZMj2ZMj...` with no closing quote."""
    assert SecretGuard().check(suggest('"5ZJZ2ZMj2ZMj2ZMj2ZMj2ZMj2ZMj2ZM', "    password = ")).action == "block"
    assert SecretGuard().check(suggest('os.environ["DB_PASSWORD', "    password = ")).action == "allow"


def test_a_dotenv_value_is_judged_by_the_file_it_goes_into() -> None:
    assert SecretGuard().check(suggest("Xq7Lp2Wm9Rt4\n", "API_KEY=", path=".env")).action == "block"


@pytest.mark.parametrize(
    "text",
    ["return sorted(items, key=lambda item: item.name)\n", "password = os.environ['DB_PASSWORD']\n",
     "CHECKSUM_ALGORITHM = 'sha256'\n", "self.api_key = api_key\n", "password = get_password()\n",
     "token = None\n", "# the password is checked by the server\n"],
)
def test_ordinary_code_is_allowed(text: str) -> None:
    assert SecretGuard().check(suggest(text)).action == "allow"


def test_echo_of_a_value_the_indexer_redacted_is_blocked(tmp_path: Path) -> None:
    index = indexed(tmp_path)
    # The bare value has no key name and little entropy: only the digest can recognise it.
    assert SecretGuard().check(suggest(f"{WEAK}\n")).action == "allow"
    for guard in (SecretGuard(index=index), SecretGuard(redacted_digests={value_digest(WEAK)})):
        decision = guard.check(suggest(f'fallback = "{WEAK}"\n'))
        assert decision.action == "block" and "redacted" in decision.reason
        assert guard.check(suggest(f"{WEAK}\n")).action == "block"
        evidence = json.dumps(decision.evidence)
        assert WEAK not in evidence and value_digest(WEAK) not in evidence  # keyed digests only
    index.close()


def test_stored_digests_are_keyed_per_index_so_a_dictionary_cannot_recover_them(tmp_path: Path) -> None:
    first, second = indexed(tmp_path / "a"), indexed(tmp_path / "b")
    stores = [ChunkStore(i.data_dir.database, create=False) for i in (first, second)]
    stored = [s.redacted_digests() for s in stores]
    dictionary = {hashlib.sha256(w.encode()).hexdigest() for w in ("password", "hunter2", WEAK)}
    assert stored[0] and not stored[0] & dictionary  # an unsalted SHA-256 dictionary finds nothing
    assert not stored[0] & stored[1]  # the same value, keyed differently in each index
    salts = {s.get_meta(DIGEST_SALT) for s in stores}
    assert len(salts) == 2 and all(len(str(salt)) == 64 for salt in salts)
    # Each index recognises the value through its own key.
    assert all(s.known_digests({value_digest(WEAK)}) for s in stores)
    for store in stores:
        store.close()


def test_an_older_index_with_unsalted_digests_is_rekeyed_once(tmp_path: Path) -> None:
    index = indexed(tmp_path)
    store = ChunkStore(index.data_dir.database, create=False)
    with store.transaction():  # what an older version left: no salt, plain SHA-256 digests
        store.conn.execute("DELETE FROM meta WHERE key = ?", (DIGEST_SALT,))
        store.conn.execute("DELETE FROM redacted_digests")
        store.conn.execute("INSERT INTO redacted_digests(digest) VALUES (?)", (value_digest(WEAK),))
    store.close()
    reopened = ChunkStore(index.data_dir.database, create=False)
    assert reopened.get_meta(DIGEST_SALT) and value_digest(WEAK) not in reopened.redacted_digests()
    salt = reopened.get_meta(DIGEST_SALT)
    reopened.close()
    assert ChunkStore(index.data_dir.database, create=False).get_meta(DIGEST_SALT) == salt  # made once
    assert SecretGuard(index=index).check(suggest(f"{WEAK}\n")).action == "block"
    index.close()


def test_the_audit_log_holds_no_value_and_no_plain_hash(tmp_path: Path) -> None:
    index = indexed(tmp_path)
    pipeline = GuardPipeline.for_index(index)
    context = "def connect():\n    "
    for text in (f'password = "{WEAK}"\n', f"{WEAK}\n", 'password = "Zq8xK2mP9vR4tL7wN3bH6jD1"\n'):
        result = pipeline.check(suggest(text, context))
        assert result.blocked
        shown = json.dumps([d.as_json() for d in result.decisions])
        assert WEAK not in shown and "Zq8xK2mP9vR4tL7wN3bH6jD1" not in shown
    log = index.data_dir.audit_log.read_text()
    for secret in (WEAK, "Zq8xK2mP9vR4tL7wN3bH6jD1"):
        assert secret not in log
        plain = [hashlib.sha256(t.encode()).hexdigest() for t in (secret, f"{secret}\n", f'password = "{secret}"\n')]
        assert not any(h in log for h in plain)
    assert value_digest(WEAK) not in log
    index.close()
