# Two commands do everything on a fresh machine with Python 3.11+:
#   make up     run the whole command centre on embedded defaults
#   make test   install what the tests need and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: up test install install-test bench clean

up: install
	$(BIN)/citybrain up

test: install-test
	./scripts/install-system-deps.sh
	$(BIN)/ruff check citybrain tests tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/citybrain bench ingest
	$(BIN)/citybrain bench pipeline
	$(BIN)/citybrain bench wall
	$(BIN)/citybrain bench leader
	$(BIN)/citybrain bench video
	$(BIN)/citybrain bench hotspots

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) .citybrain .pytest_cache
