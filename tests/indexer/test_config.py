from __future__ import annotations

from pathlib import Path

from copilot_index.indexer.config import DEFAULT_EMBEDDER, IndexConfig


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = IndexConfig.load(tmp_path)
    assert config.embedder == DEFAULT_EMBEDDER and config.warnings == []


def test_bad_values_fall_back_and_are_reported(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text(
        '[index]\nbatch_size = "many"\nmax-file-bytes = 2048\ndense_weight = 3.5\nmystery = 1\nvendored = ["gen/"]\n'
    )
    config = IndexConfig.load(tmp_path)
    assert config.batch_size == 32 and config.max_file_bytes == 2048
    assert config.dense_weight == 0.7 and config.vendored == ["gen/"]
    assert len(config.warnings) == 3
    assert any("batch_size" in w for w in config.warnings)
    assert any("mystery" in w for w in config.warnings)


def test_broken_toml_gives_defaults_and_one_warning(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text("[index\nbroken")
    config = IndexConfig.load(tmp_path)
    assert config == IndexConfig() and len(config.warnings) == 1 and "not valid TOML" in config.warnings[0]
