"""Map file paths to language names and per-language comment syntax.

Language names match the grammar names of `tree-sitter-language-pack`, so a name returned here can
be handed to `get_parser` directly. A language with a query file in `queries/<language>.scm` is
chunked at definition level; any other known language is chunked in line windows.
"""

from __future__ import annotations

from pathlib import PurePosixPath

_EXTENSIONS: dict[str, str] = {
    # The languages chunked at definition level.
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".inl": "cpp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".ru": "ruby",
    ".cs": "csharp",
    # Known languages chunked in line windows.
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".swift": "swift",
    ".php": "php",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    ".pl": "perl",
    ".pm": "perl",
    ".r": "r",
    ".dart": "dart",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".mli": "ocaml",
    ".clj": "clojure",
    ".zig": "zig",
    ".nim": "nim",
    ".jl": "julia",
    ".vue": "vue",
    ".svelte": "svelte",
    ".sql": "sql",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "scss",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".xml": "xml",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".proto": "proto",
    ".graphql": "graphql",
    ".tf": "hcl",
    ".cmake": "cmake",
    ".mk": "make",
    ".vim": "vim",
}

_FILENAMES: dict[str, str] = {
    "makefile": "make",
    "gnumakefile": "make",
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "cmakelists.txt": "cmake",
    "rakefile": "ruby",
    "gemfile": "ruby",
    "guardfile": "ruby",
    "podfile": "ruby",
    "vagrantfile": "ruby",
    "brewfile": "ruby",
    "sconstruct": "python",
    "sconscript": "python",
    "build.bazel": "starlark",
    "workspace.bazel": "starlark",
    ".bashrc": "bash",
    ".zshrc": "bash",
    ".profile": "bash",
}

_COMMENT_PREFIXES: dict[str, str] = {
    "python": "#",
    "ruby": "#",
    "bash": "#",
    "perl": "#",
    "r": "#",
    "elixir": "#",
    "julia": "#",
    "nim": "#",
    "make": "#",
    "cmake": "#",
    "dockerfile": "#",
    "yaml": "#",
    "toml": "#",
    "starlark": "#",
    "hcl": "#",
    "graphql": "#",
    "lua": "--",
    "sql": "--",
    "haskell": "--",
    "erlang": "%",
    "clojure": ";;",
    "vim": '"',
    "html": "<!--",
    "xml": "<!--",
    "markdown": "<!--",
    "vue": "<!--",
    "svelte": "<!--",
    "ocaml": "(*",
    "css": "/*",
}


def language_for_path(path: str) -> str | None:
    """Return the language of `path` by file name or extension, or None when it is not known."""
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    if name in _FILENAMES:
        return _FILENAMES[name]
    if name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"
    suffix = PurePosixPath(name).suffix
    return _EXTENSIONS.get(suffix) if suffix else None


def comment_prefix(language: str | None) -> str:
    """Return the line-comment marker for `language`: "#" or "//" etc.; "#" for unknown text."""
    if language is None or language == "text":
        return "#"
    return _COMMENT_PREFIXES.get(language, "//")
