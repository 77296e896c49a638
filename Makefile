# Two commands on a fresh clone: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run static test test-integration lint bench bench-quick token migrate worker web clean help demo admin-password

help:
	@echo "make run    - install, migrate, create the local admin + token, serve API + worker on 127.0.0.1:$(PORT)"
	@echo "make test   - install and run the unit suite"
	@echo "make test-integration - PostgreSQL + Redis + gunicorn + Celery worker end to end (installs them)"
	@echo "make bench  - benchmarks (BENCH_ARGS=--quick for a short run)"
	@echo "make demo   - load the demo workspace (offers, leads, events, scores, workflows)"

# The virtualenv is rebuilt only when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

.env:
	@cp .env.example .env
	@echo "Created .env from .env.example (DEBUG=1, embedded SQLite + filesystem broker)."

migrate: $(BIN)/.installed .env
	$(BIN)/python manage.py migrate --noinput

run: migrate static
	@$(BIN)/python manage.py ensure_local_admin
	@$(BIN)/python manage.py load_demo --if-demo-mode
	@echo "Serving on http://127.0.0.1:$(PORT) (dashboard: /app/, Swagger: /swagger/, admin: /admin/). Ctrl-C stops web, worker and beat."
	@# The Procfile's web, worker and beat under honcho: Ctrl-C or SIGTERM stops all three (SIGKILL
	@# for whatever still runs 5 s later; an unfinished import or scoring run resumes at the next
	@# start, so the worker stops at once: REMAP_SIGTERM makes SIGTERM Celery's cold shutdown). Web on
	@# loopback; web and worker write their /metrics counters to one folder.
	@metrics="$${DATA_DIR:-$(CURDIR)/var}/metrics"; rm -rf "$$metrics" && mkdir -p "$$metrics"; \
	PATH="$(CURDIR)/$(BIN):$$PATH" PROMETHEUS_MULTIPROC_DIR="$$metrics" GUNICORN_BIND=127.0.0.1:$(PORT) \
	WEB_CONCURRENCY=2 WORKER_CONCURRENCY=2 REMAP_SIGTERM=SIGQUIT exec $(BIN)/honcho start --env /dev/null --port $(PORT) web worker beat

# With DEBUG off, pages name their static files through the manifest collectstatic writes (admin, Swagger
# and ReDoc answered 500 without it); with DEBUG on it is a quick copy. Run by `make run` every time.
static: $(BIN)/.installed
	@$(BIN)/python manage.py collectstatic --noinput --verbosity 0

worker: migrate
	$(BIN)/celery -A main worker --loglevel=INFO

# The demo workspace for the local admin: offers, leads, events, scores, workflows (--reset to reload).
demo: migrate
	@$(BIN)/python manage.py ensure_local_admin
	@$(BIN)/python manage.py load_demo --reset

token: $(BIN)/.installed .env
	@$(BIN)/python manage.py create_workspace $${LOCAL_WORKSPACE:-default} $${LOCAL_ADMIN_USERNAME:-admin} 2>/dev/null | tail -n 1

# Asks for the new password twice (Django's changepassword).
admin-password: $(BIN)/.installed .env
	@$(BIN)/python manage.py changepassword $${LOCAL_ADMIN_USERNAME:-admin}

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-integration: $(BIN)/.installed
	bash .ci/integration.sh

bench: $(BIN)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(BIN)/.installed
	$(BIN)/python -m bench --quick

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) staticfiles var
