"""Tests for definition-level chunking (tree-sitter) and the line-window fallback."""

from __future__ import annotations

import pytest
from chunker_samples import CASES, JAVA, PYTHON, RUBY, RUST, C

from copilot_index.indexer.chunker import Chunk, Chunker
from copilot_index.indexer.languages import comment_prefix, language_for_path

# Small realistic files, one per language (tests/indexer/chunker_samples.py). Classes longer than
# 6 lines are split into methods (large_class_lines=6) so that method chunks and their class-header
# context are exercised.


def expected_chunks(table: str) -> list[tuple[str, str, int, int]]:
    rows = []
    for line in table.strip().splitlines():
        symbol, kind, span = line.split()
        first, last = span.split("-")
        rows.append(("" if symbol == "-" else symbol, kind, int(first), int(last)))
    return rows


def split_chunks(path: str, text: str) -> list[Chunk]:
    return Chunker(large_class_lines=6).chunk(path, text)


@pytest.mark.parametrize("language", sorted(CASES))
def test_definitions_per_language(language: str) -> None:
    path, text, expected = CASES[language]
    chunks = split_chunks(path, text)
    assert [(c.symbol, c.kind, c.start_line, c.end_line) for c in chunks] == expected_chunks(expected)
    assert {c.language for c in chunks} == {language}
    assert {c.path for c in chunks} == {path}


@pytest.mark.parametrize("language", sorted(CASES))
def test_chunks_cover_every_non_blank_line_with_exact_text(language: str) -> None:
    path, text, _ = CASES[language]
    lines = text.split("\n")
    for chunker in (Chunker(), Chunker(large_class_lines=6), Chunker(max_chunk_lines=4, window_overlap=1)):
        covered: set[int] = set()
        for chunk in chunker.chunk(path, text):
            assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
            assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
            covered.update(range(chunk.start_line, chunk.end_line + 1))
        assert {n for n, line in enumerate(lines, 1) if line.strip()} <= covered


@pytest.mark.parametrize(
    "language, symbol, start",
    [
        ("go", "NewServer", "// NewServer creates a Server.\n// It never fails.\nfunc"),
        ("python", "load", "@cached\ndef load(path):"),
        ("rust", "Point", "/// A point.\n#[derive(Debug)]\npub struct"),
        ("rust", "Point.x", "    #[inline]\n    pub fn x"),
        ("java", "Users.count", "    @Override\n    @Deprecated\n    public int count()"),
        ("java", "Users", "/**\n * Keeps users."),
        ("c", "buffer_new", "/**\n * Allocates a buffer."),
        ("c", "buffer_t", "/* A growable buffer. */\ntypedef struct buffer {"),
        ("ruby", "Shapes.Circle.area", "    # The area.\n    def area"),
        ("ruby", "Shapes.Circle", "  # A circle.\n  class Circle < Shape"),
        (
            "csharp",
            "App.Services.OrderService.Add",
            "        /// <summary>Adds an order.</summary>\n        [Obsolete",
        ),
        ("typescript", "UserStore.add", "  @logged\n  add(user: User)"),
        ("cpp", "geo.clamp", "template <typename T>\nT clamp"),
        ("javascript", "readFile", "/**\n * Reads a file.\n */\nexport function readFile"),
    ],
)
def test_doc_comments_decorators_and_annotations_start_the_chunk(language: str, symbol: str, start: str) -> None:
    path, text, _ = CASES[language]
    chunk = next(c for c in split_chunks(path, text) if c.symbol == symbol)
    assert chunk.text.startswith(start)


def test_method_chunks_carry_the_class_header() -> None:
    by_symbol = {c.symbol: c for c in split_chunks("src/Users.java", JAVA)}
    assert by_symbol["Users.count"].context == "public class Users extends Base {"
    assert by_symbol["Users"].context == ""
    ruby = {c.symbol: c for c in split_chunks("lib/circle.rb", RUBY)}
    assert ruby["Shapes.Circle.area"].context == "module Shapes\n  class Circle < Shape"
    rust = {c.symbol: c for c in split_chunks("src/lib.rs", RUST)}
    assert rust["Point.new"].context == "impl Point {"


def test_nested_function_stays_inside_its_parent() -> None:
    chunks = split_chunks("pkg/sample.py", PYTHON)
    assert "inner" not in {c.symbol.split(".")[-1] for c in chunks}
    assert "def inner():" in next(c for c in chunks if c.symbol == "load").text


def test_small_class_is_one_chunk() -> None:
    chunks = Chunker().chunk("src/lib.rs", RUST)
    impl = next(c for c in chunks if c.kind == "impl")
    assert (impl.symbol, impl.start_line, impl.end_line, impl.context) == ("Point", 9, 19, "")
    assert not [c for c in chunks if c.kind == "method"]


def test_large_class_becomes_methods_with_class_header_context() -> None:
    methods = "\n".join(f"    def m{i}(self):\n        return {i}\n" for i in range(40))
    big = 'class Big(Base):\n    """A big class.\n\n    Details.\n    """\n\n    size = 3\n\n'
    text = f"import os\n\n\n{big}{methods}"
    chunks = Chunker().chunk("big.py", text)
    header, *rest = chunks[1:]
    assert (header.symbol, header.kind, header.start_line, header.end_line) == ("Big", "class", 4, 10)
    assert [c.symbol for c in rest] == [f"Big.m{i}" for i in range(40)]
    assert {c.kind for c in rest} == {"method"}
    assert {c.context for c in rest} == {'class Big(Base):\n    """A big class.'}
    assert rest[0].text == "    def m0(self):\n        return 0"
    assert rest[0].embedding_text().startswith('# big.py :: Big.m0\nclass Big(Base):\n    """A big class.\n    def m0')


def test_long_definition_is_windowed_with_its_def_line_as_context() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(30))
    text = f"def long(a):\n{body}    return a\n"
    chunks = Chunker(max_chunk_lines=10, window_overlap=2).chunk("long.py", text)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 10), (9, 18), (17, 26), (25, 32)]
    assert {(c.symbol, c.kind) for c in chunks} == {("long", "function")}
    assert chunks[0].context == ""
    assert {c.context for c in chunks[1:]} == {"def long(a):"}


def test_content_hash_ignores_path_and_line_shift_but_not_text() -> None:
    chunker = Chunker()
    before = {c.symbol: c for c in chunker.chunk("src/buf.c", C)}
    moved = {c.symbol: c for c in chunker.chunk("lib/other.c", "// moved\n\n\n" + C)}
    assert moved["buffer_new"].start_line == before["buffer_new"].start_line + 3
    assert moved["buffer_new"].content_hash == before["buffer_new"].content_hash
    assert moved["main"].content_hash == before["main"].content_hash
    edited = {c.symbol: c for c in chunker.chunk("src/buf.c", C.replace("return 0;", "return 1;"))}
    assert edited["main"].content_hash != before["main"].content_hash
    assert edited["buffer_new"].content_hash == before["buffer_new"].content_hash
    assert len(before["main"].content_hash) == 64


@pytest.mark.parametrize("path, language", [("notes.txt", "text"), ("LICENSE", "text"), ("docs/guide.md", "markdown")])
def test_plain_files_become_overlapping_windows(path: str, language: str) -> None:
    text = "\n".join(f"line {n}" for n in range(1, 101)) + "\n"
    chunks = Chunker(window_lines=40, window_overlap=10).chunk(path, text)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 40), (31, 70), (61, 100)]
    assert {(c.kind, c.symbol, c.language) for c in chunks} == {("window", "", language)}
    assert chunks[1].text.split("\n")[0] == "line 31"


def test_unparseable_source_falls_back_to_windows_in_its_language() -> None:
    chunks = Chunker().chunk("bad.py", "def f(:\n  ))) ]]\n{{{ <<< >>>\n")
    assert [(c.kind, c.language, c.start_line, c.end_line) for c in chunks] == [("window", "python", 1, 3)]


@pytest.mark.parametrize("text", ["", "   \n\t\n", "\n\n\n"])
def test_blank_text_has_no_chunks(text: str) -> None:
    assert Chunker().chunk("a.py", text) == []


GARBAGE = [
    "\x00\x00def (((\x00",
    "x" * 300_000,
    "\ud800 lone surrogate\n" * 3,
    "}}}}\n{{{{\n" * 50,
    "class " * 2000,
    "a\r\nb\r\n\r\n",
    "\x0b\x0c\u2028\u0085 odd line breaks\n",
    'fn main() { let x = "unterminated;\n',
]


@pytest.mark.parametrize("path", ["a.py", "a.rs", "a.go", "a.java", "a.c", "a.cpp", "a.rb", "a.cs", "a.tsx", "a.txt", "x"])
def test_garbage_never_raises(path: str) -> None:
    chunker = Chunker(max_chunk_lines=20)
    for text in GARBAGE:
        for chunk in chunker.chunk(path, text):
            assert chunk.text.strip() and chunk.start_line <= chunk.end_line
            assert chunk.content_hash and chunk.embedding_text()


@pytest.mark.parametrize(
    "path, language",
    [
        ("a/b.py", "python"),
        ("x.js", "javascript"),
        ("x.mjs", "javascript"),
        ("x.ts", "typescript"),
        ("x.tsx", "tsx"),
        ("x.go", "go"),
        ("x.rs", "rust"),
        ("X.java", "java"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.cpp", "cpp"),
        ("x.hpp", "cpp"),
        ("x.rb", "ruby"),
        ("Rakefile", "ruby"),
        ("X.cs", "csharp"),
        ("Makefile", "make"),
        ("Dockerfile", "dockerfile"),
        ("X.PY", "python"),
        ("notes.txt", None),
        ("LICENSE", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_comment_prefix() -> None:
    assert [comment_prefix(lang) for lang in ("python", "ruby", "go", "cpp", "csharp", None)] == [
        "#",
        "#",
        "//",
        "//",
        "//",
        "#",
    ]


def test_commonjs_and_prototype_assignments_are_definitions() -> None:
    text = (
        "var app = exports = module.exports = {};\n\n"
        "/**\n * Initialize the server.\n */\napp.init = function init() {\n  this.cache = {};\n};\n\n"
        "// Parse the string.\nexports.parse = (str) => str.split(',');\n\n"
        "Router.prototype.route = function route(path) {\n  return path;\n};\n"
    )
    chunks = {c.symbol: c for c in Chunker().chunk("lib/app.js", text)}
    assert {"app.init", "exports.parse", "Router.prototype.route"} <= set(chunks)
    assert chunks["app.init"].kind == "function" and chunks["app.init"].text.startswith("/**\n * Initialize")
    assert chunks["exports.parse"].text.startswith("// Parse the string.")


def test_a_module_exports_function_is_named_after_the_function() -> None:
    named = "/**\n * Returns the current media.\n */\nmodule.exports = function currentMedia() {\n  return 1;\n};\n"
    anonymous = "module.exports = function (css) {\n  return css;\n};\n"
    generator = "module.exports = function* walk(node) {\n  yield node;\n};\n"
    other = "app.handle = function handle() {\n  return 2;\n};\n"
    symbols = {
        name: [(c.symbol, c.kind, c.start_line) for c in Chunker().chunk(f"lib/{name}.js", text)]
        for name, text in (("named", named), ("anonymous", anonymous), ("generator", generator), ("other", other))
    }
    assert symbols == {
        "named": [("currentMedia", "function", 1)],
        "anonymous": [("module.exports", "function", 1)],
        "generator": [("walk", "function", 1)],
        "other": [("app.handle", "function", 1)],
    }


def test_a_doc_block_one_blank_line_above_still_starts_the_chunk() -> None:
    text = (
        "/**\n * The module's header.\n */\n\n'use strict';\n\n"
        "/**\n * Take a snapshot of the document.\n *\n * @api public\n */\n\n"
        "Document.prototype.snapshot = function snapshot() {\n  return 1;\n};\n\n"
        "// A line comment one blank line above stays apart.\n\nfunction plain() {\n  return 2;\n}\n\n"
        "/**\n * Two blank lines above: apart too.\n */\n\n\nfunction far() {\n  return 3;\n}\n\n"
        "/************ A BANNER ************/\n\nfunction bannered() {\n  return 4;\n}\n"
    )
    chunks = Chunker().chunk("lib/document.js", text)
    by_symbol = {c.symbol: c for c in chunks}
    assert by_symbol["Document.prototype.snapshot"].text.startswith("/**\n * Take a snapshot")
    assert by_symbol["Document.prototype.snapshot"].start_line == 7
    for name in ("plain", "far", "bannered"):
        assert by_symbol[name].text.startswith(f"function {name}")
    modules = [c.text for c in chunks if c.kind == "module"]
    assert any("The module's header" in m and "'use strict'" in m for m in modules)  # not glued to a function
    assert any("A line comment" in m for m in modules) and any("Two blank lines" in m for m in modules)
    assert any("A BANNER" in m for m in modules)


OVERLOADED = '''import typing as t
from typing import overload


@overload
def group(name: str) -> "Group": ...


@t.overload
def group(name: None = None) -> "Callable": ...


def group(name=None):
    """Creates a new group."""
    return make(name)


@overload
def lonely() -> None: ...


def other():
    return 1
'''


def test_overload_signatures_join_their_implementation() -> None:
    chunks = Chunker().chunk("decorators.py", OVERLOADED)
    assert [(c.symbol, c.kind, c.start_line, c.end_line) for c in chunks] == [
        ("", "module", 1, 2), ("group", "function", 5, 15), ("lonely", "function", 18, 19),
        ("other", "function", 22, 23)]
    assert chunks[1].text.count("def group") == 3


def test_overload_signatures_of_a_split_class_join_their_method() -> None:
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(40))
    overloads = ("    @typing.overload\n    def get(self, key: int) -> int: ...\n"
                 "    @overload\n    def get(self, key: str) -> str: ...\n"
                 "    def get(self, key):\n        return key\n")
    chunks = Chunker().chunk("big.py", f"class Big:\n    size = 3\n\n{methods}{overloads}")
    gets = [c for c in chunks if c.symbol == "Big.get"]
    assert [(c.kind, c.start_line, c.end_line) for c in gets] == [("method", 124, 129)]
    assert gets[0].context == "class Big:"


def test_a_decorator_merely_named_like_overload_does_not_join() -> None:
    text = "@overloaded\ndef f(a): ...\n\n\ndef f(a, b):\n    return b\n"
    chunks = Chunker().chunk("f.py", text)
    assert [(c.symbol, c.start_line, c.end_line) for c in chunks] == [("f", 1, 2), ("f", 5, 6)]


def test_a_property_and_its_setter_and_deleter_make_one_chunk() -> None:
    text = ("class Box:\n"
            "    @property\n    def size(self) -> int:\n        return self._size\n\n"
            "    @size.setter\n    def size(self, value: int) -> None:\n        self._size = value\n\n"
            "    @size.deleter\n    def size(self) -> None:\n        del self._size\n\n"
            "    @width.setter\n    def height(self, value: int) -> None:\n        self._h = value\n"
            + "".join(f"\n    def m{i}(self):\n        return {i}\n" for i in range(30)))
    chunks = Chunker().chunk("box.py", text)
    assert [(c.symbol, c.start_line, c.end_line) for c in chunks[:3]] == [
        ("Box", 1, 1), ("Box.size", 2, 12), ("Box.height", 14, 16)]  # another name's setter stays apart
