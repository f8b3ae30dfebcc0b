# The two set-up commands of the README, plus a fast inner loop.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := sqlite:///$(CURDIR)/demo.sqlite3
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint format migrations messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		echo "python3-venv is missing: installing it from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
		rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# WeasyPrint's libraries and a font, for the demo's invoice PDFs.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
DEMO_KEY := .demo-secret-key
# The demo is served over plain http on 127.0.0.1, with a key made once for this checkout.
DEMO_ENV = DATABASE_URL=$(DEMO_DB) EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
	SECRET_KEY=$$(cat $(DEMO_KEY)) SERVED_OVER_HTTPS=false

$(DEMO_KEY):
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

demo: $(STAMP) $(DEMO_KEY)
	scripts/ensure-debian-packages $(PDF_PACKAGES)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py load_demo
	@echo "Serving on http://127.0.0.1:8000 (Ctrl-C to stop)"
	@# DEBUG off, as a customer sees it: the styled 403/404/500 pages, static files from
	@# WhiteNoise. Run with DEBUG=true for Django's error pages while developing.
	$(DEMO_ENV) DEBUG=$${DEBUG:-false} $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	scripts/with-test-services $(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not postgres and not redis and not browser" -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemigrations

messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l fr --ignore '.venv/*'
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) demo.sqlite3 media sent-mail $(DEMO_KEY)
