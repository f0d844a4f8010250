# OneStop — two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ONESTOP_DATABASE_URL ?= sqlite:///var/onestop.db

.PHONY: install run test check bench seed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

seed: install
	$(BIN)/onestop db upgrade
	$(BIN)/onestop seed-demo

# The worker (timers, notifications, checkpoints) runs beside Streamlit and stops with it.
run: seed
	@mkdir -p var
	@$(BIN)/onestop worker >> var/worker.log 2>&1 & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "worker running (pid $$worker), log in var/worker.log"; \
	$(BIN)/streamlit run runtime/app.py --server.address localhost --server.headless true --browser.gatherUsageStats false

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check engine designer runtime tests
	$(BIN)/ruff format --check engine designer runtime tests
	$(BIN)/mypy engine designer
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m tests.benchmarks.engine_bench
	$(BIN)/python -m tests.benchmarks.worklist_bench
	$(BIN)/python -m tests.benchmarks.audit_bench
	$(BIN)/python -m tests.benchmarks.sla_bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Translations: pull the page strings into the template, then merge it into the Thai and Vietnamese catalogs.
.PHONY: i18n-extract i18n-update

i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k _ -k gettext -k ngettext:1,2 -k N_ \
		--project OneStop --version 0.1.0 --width 110 -o runtime/locale/onestop.pot .

i18n-update: install
	$(BIN)/pybabel update -D onestop -i runtime/locale/onestop.pot -d runtime/locale -l th --width 110
	$(BIN)/pybabel update -D onestop -i runtime/locale/onestop.pot -d runtime/locale -l vi --width 110
