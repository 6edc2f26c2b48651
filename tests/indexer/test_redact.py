from __future__ import annotations

import base64
import json
import pathlib
import re
import secrets
import string

import pytest

from copilot_index.indexer.redact import (
    PLACEHOLDER,
    Redactor,
    is_placeholder_phrase,
    load_rules,
    looks_random,
    value_digest,
)

PROJECT = pathlib.Path(__file__).resolve().parents[2]
ALPHABET = string.ascii_letters + string.digits


def random_value(n: int = 24, extra: str = "") -> str:
    """A fresh high-entropy value with lower case, upper case and digits (and `extra` appended)."""
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(n))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value + extra


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt() -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": random_value(10), "iat": 1700000000}).encode())
    return f"{header}.{payload}.{b64url(secrets.token_bytes(32))}"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('AWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"', "AKIAQX7PLM2VN4HB9TZW"),
        ('password = "correct-Horse-battery-9"', "correct-Horse-battery-9"),
        ('db_password = "$ecretXk39sdAbcQ"', "$ecretXk39sdAbcQ"),  # detect-secrets drops a value led by $
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


# Every kind the issue found stored in clear: (file, line with {v} for the value, the value's maker).
PLANTED = [
    (".env", "API_KEY={v}", random_value),
    (".env", "DB_PASSWORD={v}", lambda: random_value(16, "!%")),
    (".env.local", "export AUTH_TOKEN={v}", lambda: random_value(40)),
    ("Dockerfile", "ENV APP_SECRET={v}", random_value),
    ("Dockerfile", "ENV DATABASE_PASSWORD {v}", random_value),
    ("docker/api.Dockerfile", 'ARG NPM_TOKEN="{v}"', random_value),
    ("web.config", '    <add key="PaymentApiKey" value="{v}" />', random_value),
    ("web.config", '    <smtp host="mail.internal" port="25" password="{v}" />', lambda: random_value(14, "#")),
    ("pom.xml", "    <password>{v}</password>", random_value),
    ("appsettings.json", '  "Main": "Server=tcp:sql.internal,1433;Database=app;User Id=sa;Password={v};"', random_value),
    ("src/Db.cs", '    const string Odbc = "Driver={{ODBC Driver 18}};Server=sql;UID=app;PWD={v};";',
     lambda: random_value(12, "@")),
    ("config/settings.yaml", "  url: redis://:{v}@cache.internal:6379/0", random_value),
    ("app/db.py", 'URL = "postgres://app:{v}@db.internal:5432/app"', random_value),
    ("app/storage.py", 'CONN = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={v};EndpointSuffix=core.net"',
     lambda: base64.b64encode(secrets.token_bytes(64)).decode()),
    ("scripts/deploy.sh", 'curl -H "Authorization: Basic {v}" https://deploy.internal/api',
     lambda: base64.b64encode(f"deploy:{random_value(20)}".encode()).decode()),
    ("client.js", 'fetch(url, {{ headers: {{ "Authorization": "Bearer {v}" }} }});', lambda: random_value(48)),
    ("scripts/get.sh", "curl -u admin:{v} https://deploy.internal/api", random_value),
    ("app/client.py", "# temporary admin password: {v}", lambda: random_value(16, "$")),
    ("web/app.js", "// token {v} (rotate me)", lambda: random_value(36)),
    ("deploy/aws.ini", "aws_secret_access_key = {v}", lambda: random_value(40)),
    ("deploy/credentials", "aws_secret_access_key={v}", lambda: random_value(40)),
    ("tests/fixtures/auth.json", '  "id_token": "{v}",', jwt),
    ("app/auth.py", 'session = login(token="{v}")', jwt),
    ("app/tokens.py", 'REFRESH_TOKEN = "{v}"', lambda: random_value(12, "-x")),
]


@pytest.mark.parametrize(("path", "template", "make"), PLANTED, ids=[f"{p}:{t[:28]}" for p, t, _ in PLANTED])
def test_every_planted_kind_is_redacted(path: str, template: str, make) -> None:  # type: ignore[no-untyped-def]
    value = make()
    text = f"# settings\n{template.format(v=value)}\nDEBUG=true\n"
    result = Redactor().redact(text, path)
    assert value not in result.text, result.text
    for part in value.split("."):  # a JWT goes whole: header, payload and signature
        assert part not in result.text
    assert result.text.count("\n") == text.count("\n")
    assert value_digest(value) in result.digests
    assert result.line_kinds and set(result.line_kinds) == {2}


# A value that starts like a placeholder or a reference: one random value in about 900 starts with "my" in some
# case ("your_api_key" is a placeholder, "MYk3X..." is not), and passwords start with "$", "%" or "!" (not a
# header's token or base64, whose alphabets have none of them); "token Is4zg..." is no "token is ...".
LEADS = [(lead, *planted)
         for lead in ("my", "MY", "mY", "your", "Enter", "insert", "REPLACE", "Is", "WAS", "$", "$x", "%", "!")
         for planted in PLANTED[:21] if lead[0].isalpha() or not re.search("Authorization|AccountKey", planted[1])]


@pytest.mark.parametrize(("lead", "path", "template", "make"), LEADS, ids=[f"{x[0]}-{x[1]}:{x[2][:28]}" for x in LEADS])
def test_a_value_that_starts_like_a_placeholder_is_still_redacted(lead: str, path: str, template: str, make) -> None:  # type: ignore[no-untyped-def]
    value = lead + make()
    result = Redactor().redact(f"# settings\n{template.format(v=value)}\n", path)
    assert value not in result.text and set(result.line_kinds) == {2}, result.text
    assert value_digest(value) in result.digests, result.text  # the whole value, not what follows "Is"


@pytest.mark.parametrize(("value", "expected"), [
    ("your_api_key", True), ("YOUR-TOKEN-HERE", True), ("enterPasswordHere", True), ("my-secret", True),
    ("replace_me", True), ("MYk3XrT9pQ2vL8nW", False), ("MyPassw0rd!", False), ("myAbCdEfGhIjKlMnOp", False),
    ("yourQzXkWvBnMpLrTy", False), ("EnternHBBEasJTnbydtsmGKE", False), ("api_key_here", False)])
def test_placeholder_phrases(value: str, expected: bool) -> None:
    assert is_placeholder_phrase(value) is expected


def test_a_redacted_value_goes_wherever_else_it_occurs() -> None:
    value = random_value(20)
    text = f'DB_PASSWORD={value}\n# the old one was {value}, see the wiki\n'
    result = Redactor().redact(text, ".env")
    assert value not in result.text and result.text.count(PLACEHOLDER) == 2


def test_a_word_taken_from_a_url_stays_where_it_is_code() -> None:
    text = 'URL = "http://user:password@localhost/"\n\ndef login(username, password):\n    return password\n'
    result = Redactor().redact(text, "app/login.py")
    assert "def login(username, password):\n    return password\n" in result.text


def test_lock_files_keep_their_integrity_hashes_but_not_credentials() -> None:
    value = random_value(20)
    lock = json.dumps({"packages": {"node_modules/koa": {
        "resolved": f"https://ci:{value}@npm.internal/koa/-/koa-2.15.0.tgz",
        "integrity": "sha512-" + base64.b64encode(secrets.token_bytes(64)).decode()}}}, indent=2)
    result = Redactor().redact(lock, "package-lock.json")
    assert value not in result.text and result.count == 1 and '"integrity": "sha512-' in result.text


ORDINARY = [
    ("app/auth.py", "password = get_password()"),
    ("app/auth.py", "token = None"),
    ("app/auth.py", "self.api_key = api_key"),
    ("app/auth.py", "TOKEN_TYPE = 'refresh_token'"),
    ("app/auth.py", "headers = {'Authorization': f'Bearer {token}'}"),
    ("app/auth.py", "# the password is required; the token: see the vault"),
    ("app/auth.py", "if not password:  # password must be at least 8 characters"),
    ("app/auth.py", 'csrf_token = request.cookies.get("csrftoken")'),
    ("app/auth.py", 'DB_URL = "postgres://app@db.internal:5432/app"'),
    ("app/auth.js", "const token = await getToken(user);"),
    (".env", "DEBUG=true"),
    (".env", "TOKEN_TTL=3600"),
    (".env", "PASSWORD_FILE=/run/secrets/db_password"),
    (".env", "API_KEY=${API_KEY}"),
    (".env", "DB_PASSWORD="),
    ("Dockerfile", "ENV PATH=/usr/local/bin:$PATH"),
    ("Dockerfile", "ARG TOKEN_URL=https://auth.internal/token"),
    ("k8s/deploy.yaml", "          secretName: tls-cert"),
    ("config.yaml", "tokenizer: bert-base-uncased"),
    ("config.yaml", "password: ${DB_PASSWORD}"),
    (".github/workflows/publish.yaml", "      id-token: write"),
    ("web.config", '<add key="PasswordMinLength" value="12" />'),
    ("login.html", '<input type="password" name="password" placeholder="Password">'),
    (".env", "DB_PASSWORD=$DB_PASSWORD_2"),
    ("app/db.py", 'password = "$DB_PASSWORD"'),
    (".env", "AUTH_TOKEN=$(cat /run/secrets/token)"),
    ("config.yaml", "password: !vault |"),
    ("config.yaml", "api_token: !secret api_token"),
    ("template.yaml", "MasterUserPassword: !Ref DbPassword"),
    ("app/settings.py", 'DB_PASSWORD = "%(db_password)s"'),
    ("deploy.bat", "set PASSWORD=%DB_PASSWORD%"),
    (".env.example", "API_KEY=your_api_key_here"),
]


@pytest.mark.parametrize(("path", "line"), ORDINARY)
def test_ordinary_code_and_settings_are_untouched(path: str, line: str) -> None:
    result = Redactor().redact(line + "\n", path)
    assert result.count == 0 and result.text == line + "\n", result.text


def test_private_key_block_is_redacted_whole() -> None:
    body = ["MIIEowIBAAKCAQEAx4kT8Zz9nqz3Lw0c", "vX9mP2qR7sT1uV5wX9yZ3aB6cD0eF4gH", "Qk8s0d9f7g6h5j4k3l2m1n0b9v8c7x6z"]
    text = "\n".join(["KEY = '''", "-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----", "'''"])
    result = Redactor().redact(text, "key.py")
    for line in body:
        assert line not in result.text
    assert "-----BEGIN RSA PRIVATE KEY-----" in result.text
    assert result.text.count("\n") == text.count("\n")
    # One secret, not one per line (gin's test key counted 25 of its 28), though every line is kept as a digest
    assert result.count == 1 and result.kinds == {"Private Key": 1} and len(result.digests) == len(body)
    assert set(result.line_kinds) == {3, 4, 5}


def test_digests_not_values_are_kept() -> None:
    result = Redactor().redact('token = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"\n', "a.py")
    assert value_digest("ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5") in result.digests
    assert all(len(d) == 64 for d in result.digests)
    assert "ghp_" not in repr(result.digests) + repr(result.kinds) + repr(result.line_kinds)


def test_ordinary_code_is_untouched() -> None:
    source = pathlib.Path(pathlib.__file__).read_text()  # a real 1,000+ line module with long identifiers
    result = Redactor().redact(source, "pathlib.py")
    assert result.count == 0 and result.text == source


def test_bpe_merges_and_vocabulary_of_a_tokenizer_are_not_secrets() -> None:
    tokenizer = PROJECT / "server" / "model" / "default" / "tokenizer.json"
    text = tokenizer.read_text(encoding="utf-8")
    assert '"merges"' in text
    assert Redactor().redact(text, "model/tokenizer.json").count == 0


def test_rules_are_data() -> None:
    rules = load_rules()
    kinds = {rule.kind for rule in rules.rules}
    assert {"JSON Web Token", "URL credentials", "Connection string password", "Authorization header",
            "Secret in a comment"} <= kinds
    assert rules.scan_name("deploy/.env") == "deploy/.env.cfg" and rules.scan_name("app.py") == "app.py"


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
