"""Shared fixtures: real git repositories in temp dirs and the real (bundled) embedder."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Settings and trust decisions of the test session, never the developer's own (~/.config/copilot-index).
os.environ["COPILOT_INDEX_CONFIG_HOME"] = tempfile.mkdtemp(prefix="copilot-index-config-")
atexit.register(shutil.rmtree, os.environ["COPILOT_INDEX_CONFIG_HOME"], ignore_errors=True)
# Tests of the code around the model complete with the shipped small model (fast, and always installed); the
# product's default, SmolLM2 through llama.cpp, is tested where it is named (tests/server/completion/test_gguf_engine.py).
SESSION_MODEL = "copilot-index-default"
(Path(os.environ["COPILOT_INDEX_CONFIG_HOME"]) / "config.toml").write_text(
    f'[completion]\nmodel = "{SESSION_MODEL}"\n', encoding="utf-8")

from copilot_index.indexer import DataDir, Embedder, Index, IndexSummary, resolve_repo  # noqa: E402


class GitRepo:
    """A real git repository in a temporary folder, driven through the git command line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "user.name", "Test")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedder, the code-search model shipped in the package (loaded once per session)."""
    return Embedder()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user config folder of the test's own (settings, trusted repositories), inherited by the
    processes it starts. Without it, tests share one session-wide folder, never the developer's own."""
    folder = tmp_path / "user-config"
    monkeypatch.setenv("COPILOT_INDEX_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def open_index(data_dir: Path):  # type: ignore[no-untyped-def]
    """`open_index(root)`: the index of the repository at `root`, kept in the test's `data_dir`."""

    def open_(root: Path) -> Index:
        return Index(resolve_repo(root), DataDir(data_dir))

    return open_


@pytest.fixture
def run_index(embedder: Embedder, open_index):  # type: ignore[no-untyped-def]
    """Index a folder with the shared real embedder and return the run's summary."""

    def run(root: Path, rebuild: bool = False) -> IndexSummary:
        with open_index(root) as index:
            return index.update(embedder=embedder, rebuild=rebuild)

    return run


TINY_MODULES = ("colorsys.py", "bisect.py", "heapq.py", "textwrap.py", "shlex.py")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) Llama-style FIM model, trained for a few steps by the project's pre-training script."""
    import sysconfig

    from copilot_index.server.model.pretrain import main as pretrain_main

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = tmp_path_factory.mktemp("tiny-corpus")
    for name in TINY_MODULES:
        (corpus / name).write_text((stdlib / name).read_text("utf-8"), "utf-8")
    out = tmp_path_factory.mktemp("tiny-model") / "model"
    argv = [
        "--out", str(out), "--corpus-dir", str(corpus), "--corpus-license", "PSF-2.0",
        "--max-steps", "8", "--vocab-size", "400", "--context", "256", "--hidden-size", "32",
        "--intermediate-size", "64", "--layers", "2", "--heads", "2", "--batch-size", "4",
        "--warmup-steps", "2", "--held-out-fraction", "0.2", "--log-every", "4", "--eval-cases", "2",
    ]
    assert pretrain_main(argv) == 0
    return out
