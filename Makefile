# The two commands a new user needs: `make demo` and `make test`.
# Both create .venv with the project installed; nothing else is needed but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test bench bench-plan bench-forecast bench-mc bench-excel bench-reconcile clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sop-twin needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# sktime's wheel ships the PBS series of FPP3's Croston example: fetched, not installed
# (the tests read the one CSV inside it)
SKTIME_WHEEL := $(VENV)/wheels/sktime-1.2.0-py3-none-any.whl

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip download --quiet --no-deps --dest $(VENV)/wheels sktime==1.2.0
	@test -f $(SKTIME_WHEEL) || { echo "pip fetched no $(SKTIME_WHEEL)"; exit 1; }
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/twin compare scenarios/baseline.yaml scenarios/port_closure.yaml scenarios/supplier_delay.yaml \
		scenarios/line_outage.yaml scenarios/demand_spike_small.yaml scenarios/demand_spike_large.yaml \
		scenarios/new_competitor.yaml --explain-gap --overwrite --out $(OUT)/compare
	@echo "Demo output: $(OUT)/compare/report.html (open it in a browser); report.md, kpis.csv, risks.csv, figures/, runs/"

# the HTML report test renders in Debian's Chromium (no browser download); install it where missing
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "The report test needs Chromium at $(CHROMIUM): install it, or set CHROMIUM=/path/to/chromium"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

# two test workers, each test file on one (its module fixtures made once): much of the
# suite is single-threaded (the twin, the LP), so 13 min 49 s in one process took 9 min 58 s
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test $(CHROMIUM)
	SOP_TWIN_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_sim.py

bench-plan: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_plan.py

bench-forecast: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_forecast.py

bench-mc: $(VENV)/.installed-test
	cd benchmarks && ../$(BIN)/python bench_montecarlo.py --memory 10000

bench-excel: $(VENV)/.installed
	cd benchmarks && ../$(BIN)/python bench_excel.py

bench-reconcile: $(VENV)/.installed
	cd benchmarks && ../$(BIN)/python bench_reconcile.py

clean:
	rm -rf $(VENV) $(OUT) *.egg-info
