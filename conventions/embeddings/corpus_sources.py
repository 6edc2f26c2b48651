"""Licence-checked source trees for the code-search embedder's training corpus.

Four origins, all available offline once fetched, each with its licence record:

- the CPython standard library of the running interpreter (PSF licence, `LICENSE.txt`);
- wheels from PyPI (`pip download --no-deps --only-binary :all:`): `License-Expression`, `License` and
  licence classifiers of the wheel's METADATA;
- npm packages (`npm pack`): the `license` field of `package.json`;
- Debian binary packages carrying sources (`apt-get download`, then `dpkg-deb -x`, never installed): Go
  (`golang-*-dev`, `/usr/share/gocode/src`; the Go standard library in `golang-1.19-src`) and Rust
  (`librust-*-dev`, `/usr/share/cargo/registry`), with `debian/copyright` as the licence record.

A tree is kept only when its main licence is permissive; files that `debian/copyright` puts under another
licence are excluded from it by pattern.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

log = logging.getLogger(__name__)

PERMISSIVE = frozenset({
    "mit", "expat", "x11", "isc", "0bsd", "bsd", "apache", "apache-2.0", "apache-2", "psf", "psf-2.0",
    "python-2.0", "zlib", "unlicense", "cc0", "cc0-1.0", "bsl-1.0", "blueoak-1.0.0", "go", "public-domain",
    "unicode", "unicode-dfs-2016", "freebsd", "mit-0",
})
"""Licence names (lower case, after normalisation) that allow training on the code and shipping the result."""

STDLIB_LICENCE = "PSF-2.0"


@dataclass(frozen=True)
class SourceTree:
    """One package's source, ready for mining."""

    name: str
    """Unique name with its origin: "cpython:stdlib", "pypi:attrs", "npm:lodash", "debian:golang-1.19-src"."""
    version: str
    licence: str
    """The declared licence expression, as written in the licence record."""
    licence_record: str
    """Where the licence was read (a path relative to the corpus folder, or an absolute path)."""
    root: Path
    exclude: tuple[str, ...] = ()
    """Gitignore-style patterns (relative to `root`) of files not to mine: other licences, test data."""
    include_built: bool = False
    """Mine `dist/` and `build/` too (npm packages that ship only built code)."""
    unit_depth: int = 0
    """0: the tree is one unit of the held-out split; 1: each top-level module or folder is a unit."""

    @property
    def origin(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def package(self) -> str:
        return self.name.split(":", 1)[1]


@dataclass
class Discovery:
    trees: list[SourceTree] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    """Tree name -> why it was not used."""


def is_permissive(expression: str) -> bool:
    """True when a licence expression ("MIT OR Apache-2.0", "BSD-3-Clause AND Zlib") allows our use."""
    text = expression.lower().replace("(", " ").replace(")", " ").replace(",", " ")
    if not text.strip():
        return False
    alternatives = re.split(r"\s+or\s+|\s*/\s*", text)
    return any(all(_permissive_name(part) for part in re.split(r"\s+and\s+", alt) if part.strip()) for alt in alternatives)


def _permissive_name(name: str) -> bool:
    name = name.strip().removesuffix(" license").removesuffix(" licence").strip()
    name = name.replace(" software", "").replace("osi approved :: ", "").strip()
    if name in PERMISSIVE or name == "python foundation":
        return True
    head = re.split(r"[-\s~]", name, maxsplit=1)[0]
    return head in {"bsd", "apache", "mit", "psf", "cc0", "zlib", "isc"} and "gpl" not in name


# --- licence records -------------------------------------------------------------------------------------


def wheel_licence(root: Path) -> tuple[str, str, str] | None:
    """(name, version, licence expression) of an unpacked wheel, from its METADATA; None without one."""
    metas = sorted(root.glob("*.dist-info/METADATA"))
    if not metas:
        return None
    meta = Parser().parsestr(metas[0].read_text(encoding="utf-8", errors="replace"))
    declared = meta.get("License-Expression") or ""
    if not declared and len(meta.get("License") or "") < 80:
        declared = meta.get("License") or ""
    if not declared:
        classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
        declared = " OR ".join(classifiers)
    return str(meta["Name"]).lower().replace("_", "-"), str(meta["Version"]), declared


def npm_licence(root: Path) -> tuple[str, str, str] | None:
    """(name, version, licence expression) of an unpacked npm package, from package.json."""
    manifest = root / "package.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    declared = data.get("license") or ""
    if isinstance(declared, dict):
        declared = declared.get("type", "")
    if not declared and isinstance(data.get("licenses"), list):
        declared = " OR ".join(str(item.get("type", "")) for item in data["licenses"] if isinstance(item, dict))
    return str(data.get("name", root.name)), str(data.get("version", "")), str(declared)


def debian_copyright(path: Path) -> tuple[str, list[str]]:
    """(licence of `Files: *`, file patterns under a non-permissive licence) of a DEP-5 copyright file."""
    main = ""
    other: list[str] = []
    for stanza in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
        fields: dict[str, str] = {}
        current = ""
        for line in stanza.splitlines():
            if line[:1].isspace() and current:
                if current == "Files":  # only a file list continues; a licence's text follows its name
                    fields[current] += " " + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current.strip()] = value.strip()
        if "Files" not in fields or "License" not in fields:
            continue
        patterns = fields["Files"].split()
        licence = fields["License"].strip()
        if patterns == ["*"]:
            main = licence
        elif not is_permissive(licence):
            other += [p for p in patterns if not p.startswith("debian/")]
    return main, other


# --- discovery of unpacked trees -------------------------------------------------------------------------


def cpython_stdlib(benchmark_files: tuple[str, ...] = ()) -> SourceTree:
    """The running interpreter's standard library; `benchmark_files` (evaluation files) are left out, and so is
    its test suite (test pairs would be dropped anyway; scanning it costs minutes)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    version = ".".join(str(part) for part in sys.version_info[:3])
    exclude = ("site-packages/", "dist-packages/", "config-*/", "lib-dynload/", "ensurepip/_bundled/",
               "idlelib/Icons/", "pydoc_data/", "encodings/", "/test/", "tests/", "idle_test/")
    return SourceTree("cpython:stdlib", version, STDLIB_LICENCE, str(root / "LICENSE.txt"), root,
                      exclude + tuple("/" + rel for rel in benchmark_files), unit_depth=1)


def discover(corpus_dir: Path) -> Discovery:
    """Every unpacked tree under `corpus_dir/sources/{pypi,npm,debian}`, licence-checked."""
    found = Discovery()
    sources = corpus_dir / "sources"
    for root in sorted((sources / "pypi").glob("*/")):
        _add(found, "pypi", root, wheel_licence(root), "*.dist-info/METADATA", corpus_dir)
    for root in sorted((sources / "npm").glob("*/")):
        _add(found, "npm", root, npm_licence(root), "package.json", corpus_dir)
    for root in sorted((sources / "debian").glob("*/")):
        tree = debian_tree(root, corpus_dir)
        if isinstance(tree, str):
            found.rejected[f"debian:{root.name}"] = tree
        else:
            found.trees.append(tree)
    return found


def _add(found: Discovery, origin: str, root: Path, record: tuple[str, str, str] | None, where: str,
         corpus_dir: Path) -> None:
    name = f"{origin}:{root.name}"
    if record is None:
        found.rejected[name] = f"no licence record ({where})"
        return
    _, version, licence = record
    if not is_permissive(licence):
        found.rejected[name] = f"licence {licence!r} is not permissive"
        return
    built_only = origin == "npm" and not _has_unbuilt_code(root)
    record_path = next(iter(sorted(root.glob(where))), root / where).relative_to(corpus_dir).as_posix()
    found.trees.append(SourceTree(name, version, licence, record_path, root, include_built=built_only))


def _has_unbuilt_code(root: Path) -> bool:
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.suffix in {".js", ".mjs", ".cjs", ".ts"} and not rel.endswith((".d.ts", ".min.js")):
            if not rel.startswith(("dist/", "build/", "node_modules/")):
                return True
    return False


def debian_tree(root: Path, corpus_dir: Path) -> SourceTree | str:
    """The source tree inside an unpacked Debian package, or why it cannot be used."""
    copyrights = sorted(root.glob("usr/share/doc/*/copyright"))
    if not copyrights:
        return "no debian/copyright"
    licence, others = debian_copyright(copyrights[0])
    if not is_permissive(licence):
        return f"licence {licence!r} of Files: * is not permissive"
    record = copyrights[0].relative_to(corpus_dir).as_posix()
    version = _deb_version(root)
    go_std = sorted(root.glob("usr/share/go-*/src"))
    if go_std:  # the Go standard library: its DEP-5 patterns start at the Go tree, above src/
        patterns = tuple("/" + p.removeprefix("src/") for p in others if p.startswith("src/"))
        return SourceTree(f"debian:{root.name}", version, licence, record, go_std[0],
                          patterns + ("cmd/", "testdata/"), unit_depth=1)
    crates = sorted(root.glob("usr/share/cargo/registry/*/"))
    gocode = root / "usr/share/gocode/src"
    if crates:
        base = crates[0]
    elif gocode.is_dir():
        base = _common_folder([p for p in gocode.rglob("*.go")]) or gocode
    else:
        return "no Go or Rust sources in the package"
    return SourceTree(f"debian:{root.name}", version, licence, record, base, tuple("/" + p for p in others))


def _deb_version(root: Path) -> str:
    changelogs = sorted(root.glob("usr/share/doc/*/changelog.Debian.gz"))
    if not changelogs:
        return ""
    import gzip

    first = gzip.decompress(changelogs[0].read_bytes()).decode("utf-8", "replace").split("\n", 1)[0]
    match = re.search(r"\(([^)]+)\)", first)
    return match.group(1) if match else ""


def _common_folder(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    parts = [p.parent.parts for p in paths]
    common = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return Path(*common) if common else None


def licence_excludes(tree: SourceTree, rel: str) -> bool:
    """True when a DEP-5 pattern of `tree` (matched as Debian does: `*` crosses folders) covers `rel`."""
    return any(fnmatch.fnmatchcase("/" + rel, p) or fnmatch.fnmatchcase("/" + rel, p.rstrip("/") + "/*")
               for p in tree.exclude if p.startswith("/"))


# --- fetching (network: PyPI, npm, Debian) ---------------------------------------------------------------


def fetch_pypi(requirements: list[str], corpus_dir: Path) -> None:
    """Download wheels (no dependencies) and unpack each into `sources/pypi/<name>`."""
    wheels = corpus_dir / "pypi"
    wheels.mkdir(parents=True, exist_ok=True)
    for requirement in requirements:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "-d", str(wheels), requirement], check=True)
    for wheel in sorted(wheels.glob("*.whl")):
        target = corpus_dir / "sources" / "pypi" / wheel.name.split("-", 1)[0].lower().replace("_", "-")
        if not target.exists():
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)


def fetch_npm(specs: list[str], corpus_dir: Path) -> None:
    """`npm pack` each package and unpack it into `sources/npm/<name>`."""
    packs = corpus_dir / "npm"
    packs.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        done = subprocess.run(["npm", "pack", "--silent", spec], cwd=packs, check=True, capture_output=True, text=True)
        tarball = packs / done.stdout.strip().splitlines()[-1]
        target = corpus_dir / "sources" / "npm" / spec.rsplit("@", 1)[0]
        if not target.exists():
            target.mkdir(parents=True)
            subprocess.run(["tar", "xzf", str(tarball), "-C", str(target), "--strip-components=1"], check=True)


def fetch_debian(packages: list[str], corpus_dir: Path) -> None:
    """`apt-get download` each package and unpack it with `dpkg-deb -x` (nothing is installed)."""
    debs = corpus_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *packages], cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        target = corpus_dir / "sources" / "debian" / deb.name.split("_", 1)[0]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)  # dpkg-deb creates the target, not its parents
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
