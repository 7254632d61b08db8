# grnbench: two commands.
#   make book       create .venv, install the pinned stack, run the study profile (default: embedded, offline)
#                   with papermill and build the Jupyter Book; prints where the HTML is.
#   make test       same bootstrap, then unit + bad-input tests and nbval re-execution of the smoke notebooks;
#                   embedded data only (no mirror, no network beyond PyPI).
#   make test-real  real-data tests and nbval of the smoke_real notebooks; needs $GRNBENCH_DATA_DIR (or network)
#                   and fails, never skips, when a file is missing.
# Options: PROFILE=full (real-data study), PYTHON=python3.11.

PYTHON ?= python3
VENV ?= .venv
PROFILE ?= embedded
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.grnbench-installed
# nbval kernels use torch's portable CPU kernels, as the runner does (see runner._execute)
PORTABLE := ATEN_CPU_CAPABILITY=default
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=1800

.PHONY: install book run test unit nbval test-real unit-real nbval-real smoke-notebooks smoke-real-notebooks readme-status clean

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
	GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not mirror"

nbval: $(INSTALLED)
	$(PORTABLE) GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest $(NBVAL) -q -p no:cacheprovider tests/notebooks

test-real: unit-real nbval-real

unit-real: $(INSTALLED)
	GRNBENCH_REQUIRE_DATA=1 GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest tests -q -p no:cacheprovider -m mirror

nbval-real: $(INSTALLED)
	$(PORTABLE) GRNBENCH_REQUIRE_DATA=1 GRNBENCH_PROGRESS=0 $(BIN)/python -m pytest $(NBVAL) -q -p no:cacheprovider tests/notebooks_real

# Re-run the smoke profiles and refresh the committed nbval notebooks (smoke_real needs GRNBENCH_DATA_DIR).
smoke-notebooks: $(INSTALLED)
	$(BIN)/grnbench run --profile smoke --force --no-book --export tests/notebooks

smoke-real-notebooks: $(INSTALLED)
	$(BIN)/grnbench run --profile smoke_real --force --no-book --export tests/notebooks_real

# Rewrite the README's table of the full profile's stages from `grnbench status` (exit 2 = not all current: still written).
readme-status: $(INSTALLED)
	$(BIN)/grnbench status --profile full --write README.md > /dev/null || test $$? -eq 2

clean:
	rm -rf results/embedded results/smoke results/smoke_real results/*/_book data/cache
