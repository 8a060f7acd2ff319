# The documented commands. Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test check lint typecheck bench snapshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install tuner with its test and dev extras

demo: $(STAMP)  ## the whole flow on the shipped examples, then the same data tuned on OpenAI's sandbox
	$(PY) examples/demo.py

test: $(STAMP)  ## the test suite (what CI runs)
	$(PY) -m pytest -q

lint: $(STAMP)  ## ruff, and the layer contract (import-linter; the tests run it too)
	$(VENV)/bin/ruff check tuner tests benchmarks examples scripts
	$(VENV)/bin/ruff format --check tuner tests benchmarks examples scripts
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test  ## ruff, mypy and the tests

bench: $(STAMP)  ## speed and memory figures (see README, "Benchmarks"); several minutes
	$(PY) benchmarks/validate.py
	$(PY) benchmarks/stats.py
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/dedupe.py --sizes 10000
	$(PY) benchmarks/daemon.py
	$(PY) benchmarks/upload.py
	$(PY) benchmarks/tui.py
	$(PY) benchmarks/eval.py

snapshots: $(STAMP)  ## regenerate the dashboard snapshots and the README's screenshots
	$(PY) -m pytest -q tests/tui/test_snapshots.py --snapshot-update
	cp tests/tui/__snapshots__/test_snapshots/test_jobs_screen.svg docs/images/tui-jobs.svg
	cp tests/tui/__snapshots__/test_snapshots/test_job_detail_loss_chart.svg docs/images/tui-job-loss.svg

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
