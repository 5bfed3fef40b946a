# The two commands a new user needs: `make run` and `make test`. Everything else is for maintainers.
# The interpreter that makes .venv: PYTHON if given, else the system's /usr/bin/python3 when it is 3.11 or
# newer and can make a venv, else python3 on PATH. Distributions build their Python with profile-guided
# optimisation; version managers' default builds (pyenv's, here) are not, and run this app about 20%
# slower (bench/README.md). An existing .venv keeps its interpreter.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& echo $(SYSTEM_PYTHON) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

.PHONY: run test lint format bench lock clean-data

$(INSTALLED): requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || (echo "Creating $(VENV) with $(PYTHON) (Python $$($(PYTHON) -c 'import sys; print(sys.version.split()[0])'))" && $(PYTHON) -m venv $(VENV))
	@echo "Installing locked dependencies into $(VENV) (first run only)…"
	@$(BIN)/python -m pip install $(PIP_FLAGS) --require-hashes -r requirements/dev.txt 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c 'import django, celery, weasyprint' 2>/dev/null || (echo "Dependency install failed; see the messages above."; exit 1)
	@touch $@

run: $(INSTALLED)  ## Start PostgreSQL, Redis, web, worker and beat; Ctrl-C stops them all
	@$(BIN)/python scripts/dev.py run

test: $(INSTALLED)  ## Run the whole test suite against PostgreSQL and Redis
	@$(BIN)/python scripts/dev.py test $(ARGS)

lint: $(INSTALLED)  ## ruff, and the import layers (pyproject.toml, docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(INSTALLED)  ## Speed and memory figures, one `BENCH <name> <value> <unit>` line each (not in CI)
	@$(BIN)/python scripts/dev.py bench $(ARGS)

lock:  ## Re-pin requirements/*.txt with hashes after editing requirements/*.in
	$(BIN)/python -m pip install $(PIP_FLAGS) uv
	cd requirements && ../$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header -o base.txt base.in
	cd requirements && ../$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header -o dev.txt dev.in

clean-data:  ## Forget the embedded databases (stop `make run` first)
	rm -rf .data
