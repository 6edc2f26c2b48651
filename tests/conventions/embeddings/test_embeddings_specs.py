"""``test`` pairs from JavaScript and TypeScript specs, on a real repository with the real tree-sitter parsers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from embedding_repo import build_shop, pairs_with_and_without

from copilot_index.conventions.embeddings.pairs import MiningOptions, Pair, PairMiner
from copilot_index.conventions.embeddings.specs import PER_TARGET, specs
from copilot_index.indexer.repo import resolve_repo

CLIENT = """/**
 * Send credentials with the request.
 */
Request.prototype.auth = function (user, pass) {
  const token = Buffer.from(`${user}:${pass}`).toString('base64');
  this.set('Authorization', `Basic ${token}`);
  return this;
};

function retryDelay(attempt) {
  const base = Math.min(30000, 100 * 2 ** attempt);
  return base + Math.floor(Math.random() * 100);
}

function send(body) {
  this._data = typeof body === 'string' ? body : JSON.stringify(body);
  return this;
}
"""

# `send` is defined twice, so a spec naming it cannot say which one it tests.
OTHER = """function send(message) {
  queue.push({ message, at: Date.now(), attempts: 0 });
  return queue.length;
}
"""

MOCHA = """describe('req.auth(user, pass)', () => {
  it('should set the Authorization header from a user and password', () => {
    const req = request.get('/').auth('tobi', 'learnboost');
    assert.equal(req.header.Authorization, 'Basic dG9iaTpsZWFybmJvb3N0');
  });
  it('ok', () => { request.get('/').auth('a', 'b'); });
  it('does not touch the header without credentials', () => {
    assert.equal(request.get('/').header.Authorization, undefined);
  });
});

describe('send', function () {
  it('serializes an object body as JSON text', function () {
    request.post('/').send({ a: 1 });
  });
});
"""

QUNIT = """QUnit.module('backoff');
QUnit.test(`retryDelay grows with every attempt until the cap`, function (assert) {
  assert.ok(retryDelay(3) > retryDelay(1));
});
""" + "".join(
    f"QUnit.test('retryDelay stays under the cap on attempt number {n}', (assert) => {{ retryDelay({n}); }});\n"
    for n in range(5)
)


def _mine(repo) -> list[Pair]:  # type: ignore[no-untyped-def]
    repo.write("lib/client.js", CLIENT)
    repo.write("lib/queue.js", OTHER)
    repo.write("test/auth.test.js", MOCHA)
    repo.write("test/backoff.test.ts", QUNIT)
    repo.commit("client, queue and their specs")
    return [p for p in PairMiner(resolve_repo(repo.root), options=MiningOptions(specs=True)).mine() if p.source == "test"]


def test_a_spec_points_at_the_function_its_describe_names_and_it_calls(repo) -> None:  # type: ignore[no-untyped-def]
    [pair] = [p for p in _mine(repo) if "Authorization header" in p.query]
    assert pair.query == "set the Authorization header from a user and password"
    assert pair.path == "lib/client.js"
    assert "Buffer.from" in pair.positive
    assert "Send credentials" not in pair.positive


def test_specs_that_cannot_say_which_function_they_test_are_left_out(repo) -> None:  # type: ignore[no-untyped-def]
    queries = {p.query for p in _mine(repo)}
    assert "ok" not in queries  # too short to be a query
    assert "does not touch the header without credentials" not in queries  # never calls auth()
    assert "serializes an object body as JSON text" not in queries  # two functions are called send


def test_titles_name_the_function_in_typescript_qunit_specs_at_most_a_few_per_function(repo) -> None:  # type: ignore[no-untyped-def]
    backoff = [p for p in _mine(repo) if p.query.startswith("retryDelay")]
    assert len(backoff) == PER_TARGET
    assert backoff[0].query == "retryDelay grows with every attempt until the cap"
    assert all("Math.min(30000" in p.positive for p in backoff)


def test_specs_reads_titles_groups_and_bodies() -> None:
    [first, short, other, serialize] = specs(MOCHA, "javascript")
    assert first.groups == ("req.auth(user, pass)",)
    assert serialize.groups == ("send",)
    assert "auth('tobi'" in first.body
    hooked = "QUnit.module('utils/deprecate', { beforeEach() {} }, function () {\n"
    hooked += "  QUnit.test('logs the message once', function (assert) { deprecate(); });\n});\n"
    [spec] = specs(hooked, "javascript")
    assert spec.groups == ("utils/deprecate",)
    assert specs(MOCHA, "python") == []
    assert specs("describe('x', () => {", "javascript") == []


def test_nested_groups_and_a_hostile_file_of_deeply_nested_calls() -> None:
    nested = "describe('a group', () => {\n" * 20 + "it('does a thing here', () => { work(); });\n" + "});\n" * 20
    [spec] = specs(nested, "javascript")
    assert spec.groups == ("a group",) * 8  # the innermost ones
    depth = 12_000
    hostile = "describe('a group', () => {\n" * depth + "it('does a thing here', () => {\n" * depth
    hostile += "work();\n" + "});\n" * (2 * depth)
    assert len(hostile) < 1024 * 1024  # under the scanner's largest file
    started = time.perf_counter()
    assert specs(hostile, "javascript") == []  # no spec within the depth looked at
    assert time.perf_counter() - started < 10  # 13 s on this machine without the depth limit, 0.3 s with it


def test_specs_are_mined_only_when_asked_for(repo) -> None:  # type: ignore[no-untyped-def]
    assert _mine(repo)
    assert not [p for p in PairMiner(resolve_repo(repo.root)).mine() if p.source == "test"]


def test_train_embeddings_trains_on_spec_pairs_only_when_asked(  # type: ignore[no-untyped-def]
    repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_shop(repo)
    repo.write("lib/client.js", CLIENT)
    repo.write("test/auth.test.js", MOCHA)
    repo.write("test/backoff.test.ts", QUNIT)
    repo.commit("client and its specs")
    by_source = pairs_with_and_without(repo.root, "--specs", tmp_path, capsys)
    assert by_source["on"]["test"] >= by_source["off"]["test"] + 1
