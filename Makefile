# The two-command promise: `make demo` and `make test` set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CXC    := $(BIN)/cxc
DB     ?= demo.db
OUT    ?= out

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

demo: $(VENV)/.installed
	rm -f $(DB) $(DB)-wal $(DB)-shm $(DB)-export.lock
	$(CXC) --db $(DB) plan programmes/
	$(CXC) --db $(DB) export --out $(OUT)
	$(CXC) --db $(DB) report --explain participants
	$(CXC) --db $(DB) report

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m mypy --strict src

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(OUT) $(DB) $(DB)-wal $(DB)-shm $(DB)-export.lock .pytest_cache
