"""The completion engine on a real index (real embedder) with a real tiny transformer."""

from __future__ import annotations

import io
import json
import threading

import pytest
from fixtures_code import GEOMETRY, HTTP
from scripted_backend import ScriptedBackend

from copilot_index.indexer import DataDir, Index, set_trusted
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main as cli_main
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.context import ContextRetriever
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.request import BadRequestError, CompletionRequest
from copilot_index.server.model.backends import TransformersBackend


def _index(root, data_dir) -> Index:  # type: ignore[no-untyped-def]
    return Index(resolve_repo(root), DataDir(data_dir))

CURRENT = "from geometry import circle_area\n\n\ndef ring_area(outer, inner):\n    return circle_area(outer) - "


@pytest.fixture
def indexed(repo, run_index):  # type: ignore[no-untyped-def]
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    repo.write("app/rings.py", CURRENT + "circle_area(inner)\n")
    repo.commit("code")
    run_index(repo.root)
    return repo


@pytest.fixture(scope="module")
def backend(tiny_model_dir):  # type: ignore[no-untyped-def]
    return TransformersBackend(str(tiny_model_dir))


def _engine(repo, data_dir, backend, **config):  # type: ignore[no-untyped-def]
    return CompletionEngine(_index(repo.root, data_dir), CompletionConfig(**config), backend=backend)


def test_completion_is_grounded_in_other_files(indexed, data_dir, backend):
    engine = _engine(indexed, data_dir, backend)
    result = engine.complete(CompletionRequest("app/rings.py", CURRENT, 4, 32))
    assert result.sources, "retrieval found nothing"
    assert all(s.path != "app/rings.py" for s in result.sources)
    assert any(s.path == "geometry.py" for s in result.sources)
    assert "\n" not in result.completion  # single-line mode
    for token in ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endoftext|>", "<|file_sep|>"):
        assert token not in result.completion
    assert result.latency_ms > 0

    plain = engine.complete(CompletionRequest("app/rings.py", CURRENT + "x", 4, 32), retrieval=False)
    assert plain.sources == []


def test_cancelled_generation_returns_nothing(indexed, data_dir, backend):
    cancel = threading.Event()
    cancel.set()
    result = _engine(indexed, data_dir, backend).complete(
        CompletionRequest("app/rings.py", CURRENT, 4, 32), cancel=cancel
    )
    assert result.completion == "" and result.stop_reason == "cancelled"


def test_block_mode_and_cache(indexed, data_dir, backend):
    engine = _engine(indexed, data_dir, backend, max_block_tokens=24)
    doc = "def scale(points, factor):\n    \n"
    block = engine.complete(CompletionRequest("app/scale.py", doc, 1, 4))
    assert block.stop_reason in {"stop_token", "max_tokens", "block_end", "tidy_loop", "tidy_unfinished", "tidy_copy"}
    for line in block.completion.split("\n")[1:]:
        assert not line.strip() or line.startswith("    ")  # never leaves the function's block
    if block.completion:
        typed = doc[:-1] + block.completion[:1]
        again = engine.complete(CompletionRequest("app/scale.py", typed + "\n", 1, 5))
        assert again.cached and again.completion == block.completion[1:]
        # What grounded and judged the suggestion comes back with the rest of it ("show sources" after Tab).
        assert again.sources and again.sources == block.sources and again.guard == block.guard


def test_without_an_index_it_still_completes(repo, data_dir, backend):
    repo.write("a.py", "x = 1\n")
    result = _engine(repo, data_dir, backend).complete(CompletionRequest("a.py", "def f():\n    return ", 1, 11))
    assert result.sources == []


def test_cli_complete_json_lines(indexed, data_dir, tiny_model_dir, capsys, monkeypatch):
    indexed.write(".copilot-index.toml", f'[completion]\nmodel = "{tiny_model_dir}"\n')
    set_trusted(indexed.root)  # the repository's file names the model
    requests = [
        {"path": "app/rings.py", "text": CURRENT, "line": 4, "character": 32},
        {"path": "app/rings.py", "text": CURRENT, "line": 40, "character": 0},
    ]
    stdin = "\n".join(json.dumps(r) for r in requests) + "\nnot json\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main(["--data-dir", str(data_dir), "complete", "--repo", str(indexed.root), "--json", "-"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1  # two of the three lines were bad
    assert set(lines[0]) == {"completion", "sources", "guard", "latency_ms", "confidence", "withheld"}
    assert {"path", "start_line", "end_line"} == set(lines[0]["sources"][0])
    assert "outside the document" in lines[1]["error"]
    assert "not valid JSON" in lines[2]["error"]


@pytest.mark.parametrize(
    ("text", "blocked_by"),
    [('"AKIAQX7PLM2VN4HB9TZW"', "secrets"), ("subprocess.call(cmd, shell=True)", "security"), ("x + 1", None)],
)
def test_guards_apply_before_a_suggestion_leaves(repo, data_dir, text, blocked_by):
    repo.write("a.py", "import subprocess\n")
    engine = CompletionEngine(_index(repo.root, data_dir), CompletionConfig(), backend=ScriptedBackend(text))
    doc = "import subprocess\n\ndef run(cmd):\n    return \n"
    result = engine.complete(CompletionRequest("a.py", doc, 3, 11))
    actions = {d["guard"]: d["action"] for d in result.guard}
    if blocked_by:
        assert result.completion == "" and actions[blocked_by] == "block"
        assert engine.cache.get("a.py", doc[: doc.index("return ") + 7], "\n") is None
    else:
        assert result.completion == text and set(actions.values()) == {"allow"}
    audit = (data_dir / "audit.jsonl").read_text().splitlines()
    assert audit and "AKIAQX7PLM2VN4HB9TZW" not in "".join(audit)


def test_unsaved_buffers_replace_the_index_copy_of_their_files(indexed, data_dir, backend):
    """Another open document with unsaved edits is the context, not its stale indexed copy; its secrets
    are redacted before they can reach the prompt."""
    engine = _engine(indexed, data_dir, backend)
    current = "from units import hexagon_area\n\n\ndef honeycomb_area(cells, side):\n    return cells * "
    edited = GEOMETRY.replace("def circle_area", "def circle_area_old") + (
        '\n\nAPI_TOKEN = "ghp_4f9d8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a"\n\n'
        "def hexagon_area(side):\n    \"\"\"Area of a regular hexagon with the given side.\"\"\"\n"
        "    return 3 * math.sqrt(3) / 2 * side * side\n"
    )
    plain = engine.complete(CompletionRequest("app/hive.py", current, 4, len("    return cells * ")))
    assert all("hexagon" not in s.path for s in plain.sources)

    request = CompletionRequest("app/hive.py", current, 4, len("    return cells * "),
                                unsaved=(("geometry.py", edited), ("app/hive.py", current)))
    snippets = engine._retrieve(request, request.prefix, request.suffix, 400, engine.backend)
    geometry = [s for s in snippets if s.path == "geometry.py"]
    assert geometry and any("def hexagon_area" in s.text for s in geometry), snippets
    assert all("circle_area(" not in s.text or "circle_area_old" in s.text for s in geometry)  # never the stale copy
    assert all(s.path != "app/hive.py" for s in snippets)  # the current file is never its own context
    assert not any("ghp_4f9d8e7c6b5a" in s.text for s in engine.buffers.chunks("geometry.py", edited))
    roomy = _engine(indexed, data_dir, backend, prefix_share=0.2, suffix_share=0.1, context_share=0.7)
    result = roomy.complete(request)  # the tiny model's window is small: give the context most of it
    assert any(s.path == "geometry.py" for s in result.sources)


def test_unsaved_field_of_complete_json_is_checked():
    request = CompletionRequest.from_json({"path": "a.py", "text": "x", "line": 0, "character": 1,
                                           "unsaved": [{"path": "b.py", "text": "def b(): pass\n"}]})
    assert request.unsaved == (("b.py", "def b(): pass\n"),)
    with pytest.raises(BadRequestError, match="unsaved must be a list"):
        CompletionRequest.from_json({"path": "a.py", "text": "x", "line": 0, "character": 1, "unsaved": ["b.py"]})


def test_typing_on_a_line_keeps_the_retrieved_context_so_the_prompt_start_stays(indexed, data_dir, monkeypatch):
    class Recording(ScriptedBackend):
        def __init__(self) -> None:
            super().__init__("")  # an empty answer is not cached: every request reaches the backend
            self.prompts: list[str] = []

        def generate(self, prompt, *, max_new_tokens, single_line, cancel):  # type: ignore[no-untyped-def]
            self.prompts.append(prompt.text)
            return super().generate(prompt, max_new_tokens=max_new_tokens, single_line=single_line, cancel=cancel)

    searches: list[str] = []
    original = Index.search

    def counting(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        searches.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(Index, "search", counting)
    backend = Recording()
    engine = CompletionEngine(_index(indexed.root, data_dir), CompletionConfig(), backend=backend, guards=None)
    for typed in ("circle_area(", "circle_area(inn", "circle_area(inner"):
        engine.complete(CompletionRequest("app/rings.py", CURRENT + typed, 4, 32 + len(typed)))
    assert len(searches) == 1, searches  # one retrieval for the place, reused while typing on the line
    context = backend.prompts[0][: backend.prompts[0].index("def ring_area")]
    assert "circle_area" in context and all(p.startswith(context) for p in backend.prompts)

    engine.complete(CompletionRequest("app/rings.py", CURRENT + "circle_area(inner)\n    ", 5, 4))
    assert len(searches) == 2  # a new line is a new place
    engine.refresh_guards()  # after indexing
    engine.complete(CompletionRequest("app/rings.py", CURRENT + "circle_area(inner)\n    ", 5, 4))
    assert len(searches) == 3


@pytest.mark.parametrize("text", ["    ", "\t", " \n  "])
def test_a_suggestion_of_whitespace_alone_is_not_shown(repo, data_dir, text):
    repo.write("a.py", "x = 1\n")
    engine = CompletionEngine(_index(repo.root, data_dir), CompletionConfig(), backend=ScriptedBackend(text), guards=None)
    result = engine.complete(CompletionRequest("a.py", "def f():\n", 1, 0))
    assert result.completion == "" and not result.cached


def test_the_files_own_chunks_leave_room_for_other_files(repo, run_index, data_dir):
    """The file being edited is in an editor's index; its chunks, excluded from the prompt's snippets, must not
    take the places of other files' code among the search's results (they once did: no snippet at all)."""
    shapes = "".join(f"\n\ndef ring_area_{i}(outer, inner):\n    return circle_area(outer) - circle_area(inner) * {i}\n"
                     for i in range(16))
    repo.write("app/rings.py", "from geometry import circle_area\n" + shapes)
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    for name in ("squares", "triangles", "hexagons"):
        repo.write(f"shapes/{name}.py", f"def {name}_area(side):\n    \"\"\"Area of {name}.\"\"\"\n    return side * side\n")
    repo.commit("code")
    run_index(repo.root)
    prefix = "from geometry import circle_area\n" + shapes + "\n\ndef ring_area_16(outer, inner):\n    return "
    retriever = ContextRetriever(_index(repo.root, data_dir), candidates=4)
    snippets = retriever.retrieve("app/rings.py", prefix, "", 4000, lambda text: len(text) // 4)
    assert len(snippets) == 4
    assert "geometry.py" in {s.path for s in snippets}
    assert all(s.path != "app/rings.py" for s in snippets)
