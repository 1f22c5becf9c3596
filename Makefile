# Two commands for a fresh machine: `make demo` and `make test`.
#
#   make test                                                  # torch from PyPI (CUDA wheels on Linux)
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu # CPU-only torch wheels, about 4 GB smaller
#
# The versions are those of constraints.txt, the set the test suite passed with.
PYTHON ?= python3
VENV ?= .venv
TORCH_INDEX ?=
PYPI ?= https://pypi.org/simple
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP := $(PY) -m pip install --quiet -c constraints.txt

.PHONY: demo test setup clean

setup: $(STAMP)

# The venv is rebuilt when pyproject.toml or constraints.txt changes.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PIP) --index-url $(TORCH_INDEX) --extra-index-url $(PYPI) torch torchvision)
	$(PIP) -e '.[test,patchmatch]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/inpaint demo

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) out runs
