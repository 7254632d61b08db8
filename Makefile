# grnbench: two commands.
#   make book   create .venv, install the pinned stack, run the study profile (default: embedded, offline)
#               with papermill and build the Jupyter Book; prints where the HTML is.
#   make test   same bootstrap, then unit + bad-input tests and nbval re-execution of the smoke notebooks.
# Options: PROFILE=full (real-data study), PYTHON=python3.11.

PYTHON ?= python3
VENV ?= .venv
PROFILE ?= embedded
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.grnbench-installed
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=1800

.PHONY: install book run test unit nbval smoke-notebooks clean

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(INSTALLED)

install: $(INSTALLED)

book: $(INSTALLED)
	$(BIN)/grnbench run --profile $(PROFILE)

run: $(INSTALLED)
	$(BIN)/grnbench run --profile $(PROFILE) --no-book

test: unit nbval

unit: $(INSTALLED)
	GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest tests -q -p no:cacheprovider

nbval: $(INSTALLED)
	GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest $(NBVAL) -q -p no:cacheprovider tests/notebooks

# Re-run the smoke profile and refresh the committed nbval notebooks (needs GRNBENCH_DATA_DIR).
smoke-notebooks: $(INSTALLED)
	$(BIN)/grnbench run --profile smoke --force --no-book --export tests/notebooks

clean:
	rm -rf results/embedded results/smoke results/*/_book data/cache
