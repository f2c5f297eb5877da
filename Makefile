# CDP: `make run` serves everything, `make test` runs the suite. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per installed set, named after the checksum of its requirement files: editing either
# file names a stamp that does not exist yet, so the next make installs again.
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# pytest-xdist workers (one per core); `make test PYTEST_ARGS="-n0"` runs serially.
PYTEST_WORKERS ?= auto

.PHONY: setup setup-dev messages messages-extract reset-password run migrate bootstrap lint test ops-check bench clean-data

setup: $(RUNTIME_STAMP) messages

setup-dev: $(DEV_STAMP) messages

# The gettext catalogs (locale/*/LC_MESSAGES/django.po -> .mo), with Babel: no GNU gettext needed
# (cdp/catalogs.py says why). After editing templates: `make messages-extract` (needs xgettext).
messages: $(RUNTIME_STAMP)
	@$(PY) -m cdp.catalogs

messages-extract: setup
	$(PY) manage.py makemessages -l es -l pt_BR --ignore=.venv --ignore=tests --ignore=bench --no-location

$(RUNTIME_STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-runtime-*
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-runtime-* $(VENV)/.installed-dev-*
	@touch $(RUNTIME_STAMP) $(DEV_STAMP)

migrate: setup
	$(PY) manage.py migrate_schemas --shared --verbosity 0
	$(PY) manage.py migrate_schemas --tenant --verbosity 0

bootstrap: migrate
	$(PY) manage.py bootstrap

run: bootstrap
	$(PY) manage.py serve

# A lost password: a new random one for the bootstrap superuser (or EMAIL=...), printed once and
# kept in $$CDP_DATA_DIR/secrets/admin-password.
reset-password: setup
	$(PY) manage.py reset_password $(EMAIL)

lint: setup-dev
	$(PY) -m ruff check .

# Bytecode on even where PYTHONDONTWRITEBYTECODE is set: pytest caches its assertion rewriting of
# the test modules and of the plugin packages there; without it every xdist worker and every
# Python subprocess of the tests compiles and rewrites them again (about 6 s of CPU each).
# With CI set (.ci/run sets it) the operations checks follow: too slow for a developer's every run,
# never skipped by CI (README, "Growing past one machine").
test: lint
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	@if [ -n "$$CI" ]; then $(MAKE) --no-print-directory ops-check; fi

# Operations checks on real processes that do not fit in `make test` (tests marked ops_check in
# tests/ops: a backup, point-in-time and whole restores and a tenant move between clusters; the
# isolation tests in a test run of their own through PgBouncer), then a short soak that must
# answer every request (memory flatness needs the 10-minute `make bench BENCH_ARGS=bench_soak`).
OPS_SOAK_SECONDS ?= 60
ops-check: setup-dev
	CDP_OPS_CHECK=1 PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n0 -m ops_check tests/ops
	CDP_FUZZ_COVERAGE=1 PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(PYTEST_WORKERS) -k fuzzed tests/test_openapi.py tests/billing/test_api_fuzz.py
	BENCH_SOAK_SECONDS=$(OPS_SOAK_SECONDS) BENCH_SOAK_WARMUP=15 BENCH_SOAK_STRICT=errors $(PY) bench/run.py bench_soak

bench: setup-dev
	$(PY) bench/run.py $(BENCH_ARGS)

clean-data:
	@echo "Removes the embedded PostgreSQL/Redis data under $${CDP_DATA_DIR:-var}/ (stop make run first)."
	rm -rf $${CDP_DATA_DIR:-var}
