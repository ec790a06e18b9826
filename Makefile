# coopflow: `make run` starts everything, `make test` runs the tests. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test system-deps lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# `make run PORT=8080` when 8000 is taken (the web app's port)
run: $(STAMP)
	$(BIN)/coopflow dev$(if $(PORT), --port $(PORT))

# two processes, a test file each at a time: every process has its own Temporal dev server and databases;
# the files marked long first, longest first (tests/conftest.py), so that no file of minutes ends the run alone
test: system-deps $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# the system packages before the venv: without python3-venv it cannot be made (the script says what to install)
system-deps:
	scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict domain
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
