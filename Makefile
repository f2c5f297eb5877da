# CDP: `make run` serves everything, `make test` runs the suite. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: setup run migrate bootstrap test bench clean-data

setup: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

migrate: setup
	$(PY) manage.py migrate_schemas --shared --verbosity 0
	$(PY) manage.py migrate_schemas --tenant --verbosity 0

bootstrap: migrate
	$(PY) manage.py bootstrap

run: bootstrap
	$(PY) manage.py serve

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py $(BENCH_ARGS)

clean-data:
	@echo "Removes the embedded PostgreSQL/Redis data under $${CDP_DATA_DIR:-var}/ (stop make run first)."
	rm -rf $${CDP_DATA_DIR:-var}
