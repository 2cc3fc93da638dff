# govflow — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/govflow_test
STAMP := $(VENV)/.installed
MO := app/translations/en/LC_MESSAGES/messages.mo

.PHONY: run test lint fmt typecheck bench install translations check-migrations test-sqlite test-postgres clean system-deps

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) $(MO)

$(MO): app/translations/en/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d app/translations -D messages >/dev/null

translations: $(MO)

run: install
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed demo
	$(FLASK) processes deploy processes/
	@echo "govflow: http://127.0.0.1:5000  (演示账号见 README；Ctrl-C 停止)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(FLASK) scheduler run & \
	  $(BIN)/gunicorn --bind 127.0.0.1:5000 --workers 2 --threads 4 --access-logfile - wsgi:app & \
	  wait

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install
	@rm -f /tmp/govflow-dbcheck.db
	DATABASE_URL=sqlite:////tmp/govflow-dbcheck.db $(FLASK) db upgrade >/dev/null
	DATABASE_URL=sqlite:////tmp/govflow-dbcheck.db $(FLASK) db check
	@rm -f /tmp/govflow-dbcheck.db

test-sqlite: install
	$(BIN)/pytest --cov=app --cov-report=term:skip-covered -q

test-postgres: install
	@if $(BIN)/python tests/pg_database.py "$(PG_TEST_URL)"; then \
	  TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest -q -p no:cacheprovider; \
	elif [ -n "$$GOVFLOW_REQUIRE_POSTGRES" ]; then echo "PostgreSQL required but not reachable"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL run skipped"; fi

system-deps:
	@bash tests/system-deps.sh

test: system-deps lint check-migrations test-sqlite test-postgres

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
