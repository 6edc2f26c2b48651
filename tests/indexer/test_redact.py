from __future__ import annotations

import pathlib

import pytest

from copilot_index.indexer.redact import PLACEHOLDER, Redactor, looks_random, value_digest


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('AWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"', "AKIAQX7PLM2VN4HB9TZW"),
        ('password = "correct-Horse-battery-9"', "correct-Horse-battery-9"),
        ('GITHUB_TOKEN = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"', "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"),
        ('DB = "postgres://app:Sup3rS3cretPassw0rd@db.internal/app"', "Sup3rS3cretPassw0rd"),
        ('const apiKey = "Zq8xK2mP9vR4tL7wN3bH6jD1fG5sA0cE";', "Zq8xK2mP9vR4tL7wN3bH6jD1fG5sA0cE"),
        ("export GITHUB_TOKEN=ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"),
        ('slack = "xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx"', "AbCdEfGhIjKlMnOpQrStUvWx"),
    ],
)
def test_secrets_are_replaced(line: str, secret: str) -> None:
    result = Redactor().redact(f"import os\n{line}\nprint(os.name)\n", "settings.py")
    assert secret not in result.text
    assert PLACEHOLDER in result.text
    assert result.text.count("\n") == 3  # line numbers never move
    assert result.count >= 1


def test_private_key_block_is_redacted_whole() -> None:
    body = ["MIIEowIBAAKCAQEAx4kT8Zz9nqz3Lw0c", "vX9mP2qR7sT1uV5wX9yZ3aB6cD0eF4gH", "Qk8s0d9f7g6h5j4k3l2m1n0b9v8c7x6z"]
    text = "\n".join(["KEY = '''", "-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----", "'''"])
    result = Redactor().redact(text, "key.py")
    for line in body:
        assert line not in result.text
    assert "-----BEGIN RSA PRIVATE KEY-----" in result.text
    assert result.text.count("\n") == text.count("\n")


def test_digests_not_values_are_kept() -> None:
    result = Redactor().redact('token = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"\n', "a.py")
    assert value_digest("ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5") in result.digests
    assert all(len(d) == 64 for d in result.digests)


def test_ordinary_code_is_untouched() -> None:
    source = pathlib.Path(pathlib.__file__).read_text()  # a real 1,000+ line module with long identifiers
    result = Redactor().redact(source, "pathlib.py")
    assert result.count == 0 and result.text == source


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Zq8xK2mP9vR4tL7wN3bH6jD1fG5sA0cE", True),
        ("ThisIsAVeryLongCamelCaseIdentifier", False),
        ("some_module.some_function_name_here", False),
        ("aaaaaaaaaaaaaaaaaaaaaaaaa", False),
    ],
)
def test_entropy_check(value: str, expected: bool) -> None:
    assert looks_random(value) is expected
