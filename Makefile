# The two commands that matter: `make run` (start the product) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "make: Python 3.11 or newer is needed as '$(PYTHON)' (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "make: cannot create $(VENV); on Debian: sudo apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

# The check names, as Debian packages, the system libraries Qt's xcb plugin lacks (Qt's own
# message names libxcb-cursor0 whatever is missing); it is silent when none is missing.
run: $(VENV)/.installed-run
	@packaging/check-system-libraries.sh $(BIN)/python
	$(BIN)/tv-adapter-console

serve: $(VENV)/.installed-run
	$(BIN)/tv-adapter serve --generate-secret

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest runs inside a private D-Bus session with a throwaway gnome-keyring when one can be
# started, so the `keyring` tests use a real Secret Service (they skip, saying why, otherwise).
test: lint
	tests/run_with_keyring.sh $(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) .bench .mypy_cache .ruff_cache .hypothesis
