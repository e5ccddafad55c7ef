# The two commands: `make run` and `make test`. Both create .venv and install on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Open the console by name: browsers refuse passkeys (WebAuthn) on an IP address.
CONSOLE_HOST := $(if $(filter 127.0.0.1,$(HOST)),localhost,$(HOST))
REQS := requirements.txt requirements-dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | cksum | cut -d' ' -f1)

.PHONY: install run serve test bench lint layers i18n messages format migrate check-isolation clean \
	deploy-check cluster-test

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# Embedded default unless DATABASE_URL / REDIS_URL / CELERY_BROKER_URL say otherwise:
# SQLite, local-memory cache, Celery worker and beat on kombu's filesystem transport.
# Ctrl-C stops the server, beat and the worker (warm shutdown, then cold after
# STOP_TIMEOUT seconds): scripts/run_dev.sh.
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --host $(HOST) --port $(PORT)
	$(PY) manage.py collectstatic --no-input -v 0
	@echo "Console: http://$(CONSOLE_HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@VENV=$(VENV) HOST=$(HOST) PORT=$(PORT) bash scripts/run_dev.sh

# Production: gunicorn with uvicorn workers under MANAGERS_CONFIG_LEVEL=production. The
# environment must hold the production settings (docs/deployment.md#environment): the
# preflight names whatever is missing. Run migrations first as the owner role
# (DATABASE_URL=<owner URL> manage.py migrate); /readyz answers 503 while any is pending.
serve: install
	@MANAGERS_CONFIG_LEVEL=production $(PY) -m config.preflight
	MANAGERS_CONFIG_LEVEL=production $(PY) manage.py collectstatic --no-input -v 0
	MANAGERS_CONFIG_LEVEL=production HOST=$(HOST) PORT=$(PORT) \
	  exec $(VENV)/bin/gunicorn --config config/gunicorn.py config.asgi:application

# Against PostgreSQL (as the non-owner runtime role) and Redis when DATABASE_URL/REDIS_URL
# are set or the local services answer; otherwise on the embedded default.
test: install
	@eval "$$($(PY) scripts/services.py)" && $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	bash bench/run.sh $(BENCH_ARGS)

lint: install layers i18n deploy-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The Dockerfile (hadolint) and the Kubernetes manifests (rendered, then validated against
# the bundled Kubernetes schemas), offline; no Docker engine or cluster needed.
deploy-check: install
	$(PY) scripts/deploy_check.py

# Two web processes behind haproxy, two workers, two beats on one PostgreSQL and one
# Redis, all on loopback; about three minutes (scripts/cluster_test.py). Needs haproxy.
# Its own database (dim_cluster, recreated) and Redis database 14 unless DATABASE_URL /
# REDIS_URL say otherwise.
cluster-test: install
	@eval "$$(DIM_TEST_DB=$${DIM_TEST_DB:-dim_cluster} \
	  DIM_TEST_REDIS_URL=$${DIM_TEST_REDIS_URL:-redis://127.0.0.1:6379/14} \
	  $(PY) scripts/services.py)" && $(PY) scripts/cluster_test.py

# Every string of ours (and django-unfold's) translated into German and French, the .mo
# files compiled from the .po files (docs/operations.md#translations). Needs gettext.
i18n: install
	$(PY) scripts/i18n_check.py

# After marking strings: refresh locale/ from the code (keeps the translations, adds the
# new strings empty, drops the gone ones, compiles the .mo files); then translate the new
# entries in locale/{de,fr}/LC_MESSAGES/*.po and run it again to compile.
messages: install
	$(PY) scripts/i18n_check.py --update

# The layer, independence and no-cycle contracts of docs/architecture.md.
layers: install
	$(VENV)/bin/lint-imports
	$(PY) scripts/import_cycles.py

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-isolation: install
	$(PY) manage.py check_isolation

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
