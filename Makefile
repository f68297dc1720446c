# `make demo` grades the bundled example submissions; `make test` runs the test suite.
# Both create the virtual environment in .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test stubs clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m autograder grade examples/submissions --out grades

test: setup
	$(PY) -m pytest -q

stubs: setup
	$(PY) -m autograder stubs

clean:
	rm -rf grades $(VENV)
