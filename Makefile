# Requests Portal — two commands do everything on a fresh machine:
#   make demo   installs what is missing and starts the portal with demo data (embedded shape)
#   make test   installs what is missing and runs lint, types and the whole suite
# `make test-services` runs the suite again on PostgreSQL + Redis with real workers (CI does both).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

# WeasyPrint needs pango and harfbuzz's subsetter; poppler-utils gives pdfsig/pdftoppm (tests);
# chromium drives the browser tests; gettext compiles translations; DejaVu is the fallback font.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core \
                   poppler-utils chromium gettext

.PHONY: demo test test-services test-browser lint typecheck system-packages install migrate bench messages clean

system-packages:
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "Not a Debian-like system: install the equivalents of: $(SYSTEM_PACKAGES)" >&2; exit 0; fi; \
	missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if ! $(PYTHON) -c "import ensurepip" 2>/dev/null; then missing="$$missing python3-venv"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "Installing system packages:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "These Debian packages are missing:$$missing" >&2; \
	     echo "Ask an administrator to run: apt-get install -y$$missing" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

install: system-packages $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput -v 0

demo: migrate
	$(BIN)/python manage.py setup_signing
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Requests Portal: http://$(HOST):$(PORT)/  (Ctrl-C stops the web server, the worker and beat)"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" DJANGO_DEBUG=1 HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho -f Procfile start

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

test-services: install
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(BIN)/python -m pytest

test-browser: install
	$(BIN)/python -m pytest -q -m browser

messages: install
	$(BIN)/python manage.py makemessages -l fa -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf var/test test-artifacts
