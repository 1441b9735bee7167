# Boussole: `make run` (install, build what is missing, serve) and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run build test test-deps bench eval clean

install: $(STAMP)

# Idempotent: creates or updates .venv; reinstalls only when pyproject.toml changes.
# torch is installed first, pinned, so that pip takes the CPU wheel and not a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

build: install
	$(BIN)/boussole build

run: install
	$(BIN)/boussole build
	$(BIN)/boussole serve

# The browser test drives Debian's chromium and the crash-window test strace; install them
# when missing (root on CI machines).
test-deps: install
	bash tests/ensure_chromium.sh
	bash tests/ensure_strace.sh

test: test-deps
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m index.bench

eval: install
	$(BIN)/boussole eval

clean:
	rm -rf $(VENV) data
