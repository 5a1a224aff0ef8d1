# The two commands a new user needs: `make demo` and `make test`.
# Both create .venv with the project installed; nothing else is needed but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test bench bench-plan bench-forecast bench-mc clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sop-twin needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/twin run scenarios/baseline.yaml --out $(OUT)/baseline
	@echo "Demo output: $(OUT)/baseline (kpis.csv, summary.csv, decisions.csv, results/ in Parquet, plan/, run.json)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_sim.py

bench-plan: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_plan.py

bench-forecast: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_forecast.py

bench-mc: $(VENV)/.installed-test
	cd benchmarks && ../$(BIN)/python bench_montecarlo.py --memory 10000

clean:
	rm -rf $(VENV) $(OUT) *.egg-info
