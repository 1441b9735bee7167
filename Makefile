# Boussole: `make run` (install, build what is missing, serve) and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STAMP_ALL  := $(VENV)/.installed-all
STAMP_EVAL := $(VENV)/.installed-eval

.PHONY: install run build test test-deps bench eval clean

install: $(STAMP)

# Idempotent: creates or updates .venv; reinstalls only when pyproject.toml changes.
# `make run` installs the runtime set only (no torch: the encoder runs in ONNX Runtime);
# `make test`, `make eval` and `make bench` add their extras on top, each behind its own
# stamp, so that a later target installs only what is missing.
# pip shows what it collects and its progress bars: the first install takes minutes.
PIP := $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check
$(STAMP): pyproject.toml
	@echo "== creating $(VENV) and installing Boussole's dependencies (a few minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --quiet --upgrade pip
	$(PIP) -e .
	touch $(STAMP)
	@echo "== installed: run commands as $(BIN)/boussole, or '. $(BIN)/activate' first to type 'boussole'"

# torch is installed first, pinned, so that pip takes the CPU wheel and not a CUDA build.
$(STAMP_ALL): $(STAMP)
	@echo "== torch (CPU build), then the extras: sentence-transformers, Milvus, evaluation, test tools"
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[test]"
	touch $@

$(STAMP_EVAL): $(STAMP)
	$(PIP) -e ".[eval]"
	touch $@

build: install
	$(BIN)/boussole build

run: install
	$(BIN)/boussole build
	$(BIN)/boussole serve

# The browser test drives Debian's chromium and the crash-window test strace; install them
# when missing (root on CI machines).
test-deps: $(STAMP_ALL)
	bash tests/ensure_chromium.sh
	bash tests/ensure_strace.sh

# Lint, then every test: the real model, index, servers and browser included (CI runs this).
test: test-deps lint
	$(BIN)/python -m pytest

.PHONY: lint test-fast

# The fast class: fakes and the in-memory backend only, no real model, index, server or
# browser (tests/conftest.py marks the rest `slow` from the fixtures they use).
test-fast: $(STAMP_ALL)
	$(BIN)/python -m pytest -m "not slow"

# ruff (lint rules, then formatting) on the whole tree, mypy on index/ and service/; their
# configuration is in pyproject.toml. `ruff format .` fixes what the format check reports.
lint: $(STAMP_ALL)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy

# Boussole against the peer service (bench/peer.py, sentence-transformers) in one
# interleaved run; see docs/performance.md.
bench: $(STAMP_ALL)
	$(BIN)/boussole build
	$(BIN)/python -m bench.compare

eval: $(STAMP_EVAL)
	$(BIN)/boussole eval

clean:
	rm -rf $(VENV) data
