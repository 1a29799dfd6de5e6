# Kentra — every target sets up what it needs (virtualenv, packages, embedded services).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
MYPY_SRC := var/mypy-src
TRANSLATIONS := platform/web/translations
CATALOGS := $(TRANSLATIONS)/en/LC_MESSAGES/messages.mo

.DEFAULT_GOAL := help
.PHONY: help install lock browser docs-assets web-assets run keycloak keycloak-stop test lint format bench clean translations

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Dependencies come only from the lock (exact versions, hashes checked; wheels only), then the
# project without resolving anything again. The lock check first: a dependency added to
# pyproject.toml without `make lock` would otherwise be skipped silently by --no-deps.
LOCK := requirements/lock.txt
DEV_LOCK := requirements/dev-lock.txt

$(STAMP): pyproject.toml setup.py $(LOCK) $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) infra/dev/lock.py check
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --only-binary :all: -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) $(CATALOGS) ## Create the virtualenv and install the project with its dev tools

lock: ## Re-lock requirements/ from pyproject.toml with uv (UPGRADE=1: newest allowed versions)
	$(PYTHON) infra/dev/lock.py compile $(if $(UPGRADE),--upgrade)

# The pages' English catalog, compiled from its committed .po (Greek is the source language).
$(CATALOGS): $(TRANSLATIONS)/en/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d $(TRANSLATIONS) -l en

translations: $(STAMP) ## Extract the pages' messages and update the English catalog
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -o var/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i var/messages.pot -d $(TRANSLATIONS) -l en --no-fuzzy-matching

# The browser tests (tests/test_journey.py) drive Debian's Chromium through Playwright (a dev
# extra from PyPI; never `playwright install`) and inject axe-core from npm. Only the tests need
# them: `make run` works where apt is unavailable.
CHROMIUM := /usr/bin/chromium
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "$(CHROMIUM) is missing and apt-get is unavailable: install Chromium to run the browser tests" >&2; exit 1; }
	$(APT) update -qq
	$(APT) install -y -qq --no-install-recommends chromium

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	@command -v npm >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "npm is missing and apt-get is unavailable: install Node.js and npm to run the browser tests" >&2; exit 1; }; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends npm; }
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser: $(STAMP) $(CHROMIUM) $(BROWSER_STAMP) ## Install what the browser tests need (Chromium, axe-core)

# Front-end packages come from npm, pinned by their package-lock.json, installed by `npm ci`
# (scripts off) and served by the platform itself, never from a CDN: the API document's pages
# (/api/v1/docs: Swagger UI and ReDoc, ADR 0037) and the pages' components (Tom Select, ADR 0042).
define npm_ci
	@command -v npm >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "npm is missing and apt-get is unavailable: install Node.js and npm" >&2; exit 1; }; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends npm; }
	cd $(1) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@
endef
DOCS_DIR := platform/api/viewers
DOCS_STAMP := $(DOCS_DIR)/node_modules/.installed-stamp
WEB_VENDOR_DIR := platform/web/vendor
WEB_STAMP := $(WEB_VENDOR_DIR)/node_modules/.installed-stamp

$(DOCS_STAMP): $(DOCS_DIR)/package.json $(DOCS_DIR)/package-lock.json
	$(call npm_ci,$(DOCS_DIR))

$(WEB_STAMP): $(WEB_VENDOR_DIR)/package.json $(WEB_VENDOR_DIR)/package-lock.json
	$(call npm_ci,$(WEB_VENDOR_DIR))

web-assets: $(WEB_STAMP) ## Install the pages' components (Tom Select; pinned npm packages)
docs-assets: $(DOCS_STAMP) ## Install Swagger UI and ReDoc for /api/v1/docs (pinned npm packages)

# A development Keycloak on 127.0.0.1:8180 (infra/dev/keycloak.sh, docs/keycloak.md): a pinned
# release from Maven Central, run on a supported JDK, realm imported; state in var/services/keycloak.
KEYCLOAK := infra/dev/keycloak.sh
KEYCLOAK_URL := http://127.0.0.1:8180

keycloak: ## Start the development Keycloak (127.0.0.1:8180, realm kentra imported)
	$(KEYCLOAK) start

keycloak-stop: ## Stop the Keycloak that `make keycloak` started
	$(KEYCLOAK) stop

# KENTRA_IDP=keycloak: the development Keycloak is the identity provider (started if needed,
# demo users seeded into it through the adapter); the default is the embedded issuer.
KENTRA_IDP ?= embedded

run: $(STAMP) $(CATALOGS) $(DOCS_STAMP) $(WEB_STAMP) ## Set up and run the platform with demo data on http://127.0.0.1:$(PORT) (KENTRA_IDP=keycloak: with Keycloak)
ifeq ($(KENTRA_IDP),keycloak)
	$(KEYCLOAK) start
	eval "$$($(KEYCLOAK) env)" && PORT=$(PORT) $(BIN)/kentra run --port $(PORT) --keycloak-users
else ifeq ($(KENTRA_IDP),embedded)
	PORT=$(PORT) $(BIN)/kentra run --port $(PORT)
else
	$(error KENTRA_IDP is embedded (the default) or keycloak, not "$(KENTRA_IDP)")
endif

# auth/ and tenants/ guard identity and isolation, platform/core is the kernel every module
# stands on: every branch of them is tested (ADR 0039).
COVERAGE_GATE ?= 1
GATED := */auth/*,*/tenants/*,*/platform/core/*

# tests/keycloak runs when KENTRA_TEST_KEYCLOAK_URL is set: here, when `make keycloak` runs.
test: $(STAMP) $(CATALOGS) $(DOCS_STAMP) $(WEB_STAMP) $(CHROMIUM) $(BROWSER_STAMP) ## Set up and run the tests (real PostgreSQL, a real Celery worker, headless Chromium; Keycloak's when it runs)
	KENTRA_TEST_KEYCLOAK_URL=$${KENTRA_TEST_KEYCLOAK_URL-$$($(KEYCLOAK) status >/dev/null 2>&1 && echo $(KEYCLOAK_URL))} \
	  $(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)
	@if [ "$(COVERAGE_GATE)" = 1 ]; then \
	  echo "branch coverage of auth/, tenants/ and platform/core/ (must be 100%):"; \
	  $(BIN)/coverage report --include='$(GATED)' --skip-covered --show-missing --fail-under=100; \
	fi

$(MYPY_SRC): ## mypy cannot follow the editable install's path mapping; give it the kentra tree
	mkdir -p $(MYPY_SRC)/kentra
	for p in platform tenants tasks auth migrations; do ln -sfn ../../../$$p $(MYPY_SRC)/kentra/$$p; done

lint: $(STAMP) $(MYPY_SRC) ## ruff (lint + format check), mypy --strict and the import contracts (layers)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(MYPY_SRC) && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p kentra.platform -p kentra.tenants -p kentra.tasks -p kentra.auth
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# PostgreSQL 127.0.0.1:54329, PgBouncer :64329 (transaction pooling), Redis :63799 and RabbitMQ
# :56729, installed from Debian's packages when missing and run from var/services/ (not the
# system services): infra/dev/services.sh, docs/operations.md. URLs: infra/dev/services.sh env.
SERVICES := infra/dev/services.sh
.PHONY: services services-stop

services: ## Install (once) and start PostgreSQL, PgBouncer, Redis and RabbitMQ on loopback
	$(SERVICES) start

services-stop: ## Stop what `make services` started
	$(SERVICES) stop

# B5 (tests/benchmarks/throughput.py) loads its servers with Debian's wrk, and starts the
# services' PostgreSQL and PgBouncer itself when they are not running.
WRK := /usr/bin/wrk

$(WRK):
	@command -v apt-get >/dev/null || { echo "$(WRK) is missing and apt-get is unavailable: install wrk to run the benchmarks" >&2; exit 1; }
	$(APT) update -qq
	$(APT) install -y -qq --no-install-recommends wrk

bench: $(STAMP) $(WRK) ## Run the benchmarks; figures go to docs/benchmarks.md and var/bench/latest.json
	$(BIN)/python -m tests.benchmarks

clean: ## Stop what runs from var/, then remove the virtualenv and var/ (embedded database included)
	-infra/dev/keycloak.sh stop
	-infra/dev/services.sh stop
	-$(BIN)/python -c 'import pgserver' 2>/dev/null && pkill -f 'var/pg' || true
	rm -rf $(VENV) var build *.egg-info $(BROWSER_DIR)/node_modules $(DOCS_DIR)/node_modules
