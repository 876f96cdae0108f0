# The two-command promise: `make demo` and `make test` set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CXC    := $(BIN)/cxc
DB     ?= demo.db
OUT    ?= out

.PHONY: demo test bench lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs cxc alone; tests, lint, docs and benchmarks also need the dev extras.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	rm -f $(DB) $(DB)-wal $(DB)-shm $(DB)-export.lock
	$(CXC) --db $(DB) plan programmes/
	$(CXC) --db $(DB) export --out $(OUT)
	$(CXC) --db $(DB) report --explain participants
	$(CXC) --db $(DB) report
	$(CXC) --db $(DB) sheets --out $(OUT)
	$(CXC) --db $(DB) report --format html > $(OUT)/report.html
	$(CXC) --db $(DB) report --explain participants --format html --sheets $(OUT) > $(OUT)/participants.html
	@echo "attendance sheets: $(OUT)/<programme>/attendance.pdf; the report as a page: $(OUT)/report.html, its evidence: $(OUT)/participants.html"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m mypy --strict src scripts
	$(BIN)/python scripts/cli_docs.py --check
	$(BIN)/python scripts/format_docs.py --check

# docs/cli.md is generated from `cxc --help`, the key tables of docs/format.md and
# docs/cxc.schema.json from src/cxc/format/definition.py: run this after changing either.
docs: $(VENV)/.installed-dev
	$(BIN)/python scripts/cli_docs.py
	$(BIN)/python scripts/format_docs.py

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(OUT) $(DB) $(DB)-wal $(DB)-shm $(DB)-export.lock .pytest_cache
