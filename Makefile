# The documented commands. Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test check lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install tuner with its test and dev extras

demo: $(STAMP)  ## the whole flow on the shipped examples
	$(PY) examples/demo.py

test: $(STAMP)  ## the test suite (what CI runs)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check tuner tests benchmarks examples scripts
	$(VENV)/bin/ruff format --check tuner tests benchmarks examples scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test  ## ruff, mypy and the tests

bench: $(STAMP)  ## speed and memory figures (see README, "Benchmarks"); several minutes
	$(PY) benchmarks/validate.py
	$(PY) benchmarks/daemon.py
	$(PY) benchmarks/upload.py
	test ! -f benchmarks/tui.py || $(PY) benchmarks/tui.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
