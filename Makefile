# The two commands that matter: `make run` (start the product) and `make test` (the whole suite).
# `make package` builds the installable Linux program (dist/), `make check-package` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test lint bench package check-package clean

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

# The benchmark `make package` ends with uses the test helpers (tests/support/xvfb.py).
$(VENV)/.installed-package: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	@touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

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
	MYPYPATH=packaging/tools $(BIN)/mypy packaging/tools
	$(BIN)/lint-imports

# pytest runs inside a private D-Bus session with a throwaway gnome-keyring when one can be
# started, so the `keyring` tests use a real Secret Service (they skip, saying why, otherwise).
test: lint
	tests/run_with_keyring.sh $(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.benchmarks

# The PyInstaller bundle, the .deb and the desktop files (packaging/README.md), then their
# figures (sizes; cold start of the bundle against the venv, under Xvfb) into .bench/.
package: $(VENV)/.installed-package
	@command -v objdump >/dev/null || { echo "make package: needs binutils (objdump, strip)"; exit 1; }
	@packaging/check-system-libraries.sh $(BIN)/python
	$(BIN)/python packaging/tools/build.py
	$(BIN)/python -m tests.benchmarks.package

# What CI checks after `make package`: the bundle's self-test with nothing but /usr/bin and /bin
# on PATH, both validators, and tests/packaging against dist/ (they skip under `make test`).
check-package: $(VENV)/.installed-test
	mkdir -p build/package/home
	env -i PATH=/usr/bin:/bin HOME=$(CURDIR)/build/package/home \
		dist/tv-adapter-console/tv-adapter-console --self-test
	desktop-file-validate build/package/linux/*.desktop
	appstreamcli validate --no-net --pedantic build/package/linux/*.metainfo.xml
	TV_PACKAGE_DIST=dist tests/run_with_keyring.sh $(BIN)/pytest tests/packaging

clean:
	rm -rf $(VENV) .bench .mypy_cache .ruff_cache .hypothesis build dist
