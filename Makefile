# Two commands for a fresh machine: `make demo` and `make test`.
#
# Where packages come from is pip's own business (its configuration file, PIP_INDEX_URL, ...): nothing here
# names an index; the README's "Install" says how to get CPU-only torch. The versions are those of
# constraints.txt, the set the test suite passed with.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet -c constraints.txt
CORE := $(VENV)/.installed-core
TEST := $(VENV)/.installed-test
DOCS := $(VENV)/.installed-docs

.PHONY: demo test docs setup clean

setup: $(TEST)

# What the demo needs: the package and its dependencies. Rebuilt when pyproject.toml or constraints.txt changes.
$(CORE): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(CORE)

# What the tests add: pytest, the page's server, the browser driver.
$(TEST): $(CORE)
	$(PIP) -e '.[test]'
	touch $(TEST)

# What the documentation site adds: MkDocs and its API and CLI extensions.
$(DOCS): $(CORE)
	$(PIP) -e '.[docs]'
	touch $(DOCS)

demo: $(CORE)
	$(VENV)/bin/inpaint demo

test: $(TEST)
	$(PY) -m pytest -q

# The site, into site/; a warning (a broken link, a docstring griffe cannot read) fails the build.
docs: $(DOCS)
	$(VENV)/bin/mkdocs build --strict

# Only what the build made. Never runs/ (where train-texture saves models), out/ or any other output.
clean:
	rm -rf $(VENV) build dist site *.egg-info .pytest_cache
	find inpaint tests experiments -name __pycache__ -type d -prune -exec rm -rf {} +
