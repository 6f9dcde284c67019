# GreenLedger: `make run` starts the platform with demo data; `make test` runs the whole suite.

# Newest usable Python: Django 6 needs 3.12+, Python 3.11 gets Django 5.2 LTS.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 \
	$(wildcard $(HOME)/.pyenv/versions/3.14*/bin/python3) $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3) python3.11 python3; do \
	if $$p -c 'import sys, sqlite3; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export GREENLEDGER_DATA_DIR ?= var

.PHONY: run install dev test clean messages bench

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/greenledger migrate --noinput
	GREENLEDGER_URL=http://$(HOST):$(PORT) $(BIN)/greenledger demo
	$(BIN)/greenledger evidence-checkpoint
	@echo ""
	@echo "GreenLedger 绿账 is starting on http://$(HOST):$(PORT)/  (SQLite file: $(GREENLEDGER_DATA_DIR)/greenledger.sqlite3)"
	@echo "Log in with one of the demo logins above. Stop with Ctrl+C."
	@echo ""
	@$(BIN)/greenledger evidence-checkpoint --every 300 >/dev/null 2>&1 & CHECKPOINTS=$$!; \
	$(BIN)/greenledger measures-scheduler --every 60 >>$(GREENLEDGER_DATA_DIR)/scheduler.log 2>&1 & SCHEDULER=$$!; \
	$(BIN)/greenledger ingest-mqtt >>$(GREENLEDGER_DATA_DIR)/mqtt.log 2>&1 & MQTT=$$!; \
	$(BIN)/greenledger regulator-sim --port 8765 >>$(GREENLEDGER_DATA_DIR)/regulator-sim.log 2>&1 & REGULATOR=$$!; \
	$(BIN)/greenledger uplink-worker >>$(GREENLEDGER_DATA_DIR)/uplink.log 2>&1 & UPLINK=$$!; \
	trap 'kill $$CHECKPOINTS $$SCHEDULER $$MQTT $$REGULATOR $$UPLINK 2>/dev/null' EXIT INT TERM; \
	$(BIN)/greenledger runserver $(HOST):$(PORT) --noreload

test: dev
	$(BIN)/pytest $(PYTEST_ARGS)

messages: install
	cd src/greenledger && ../../$(BIN)/greenledger makemessages -l zh_Hans -l en --no-obsolete && ../../$(BIN)/greenledger compilemessages

bench: dev
	$(BIN)/python bench/evidence_bench.py
	$(BIN)/python bench/measures_bench.py --quick
	$(BIN)/python bench/telemetry_bench.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
