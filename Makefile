# The two commands a newcomer types (see README):
#   make quickstart   install with the in-kernel demo model and open the quickstart notebook
#   make test         install everything the tests need and run lint, types and all tests
# Both create ./.venv with python3 (3.11) and never touch the system Python.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# llama-cpp-python compiles llama.cpp from source (~10 min on 2 cores, once: pip's wheel
# cache keeps the wheel). A portable build keeps that cached wheel valid on any x86-64 CPU.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Tools that call other tools (jupyter labextension → jupyter-builder, jlpm → node) find
# them in the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: quickstart test lint typecheck unit notebooks notebooks-record labextension jstest bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

quickstart: $(BIN)/python
	$(BIN)/pip install -e ".[llama,demo,lab]"
	$(MAKE) labextension
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/01-quickstart.ipynb

# Browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

test: $(BIN)/python
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }
	$(BIN)/pip install -e ".[test,demo]"
	$(MAKE) labextension lint typecheck jstest unit notebooks

# The JupyterLab extension: TypeScript in labextension/, built into nbstream/labextension.
# pip install builds it once; this rebuilds it and links it into the venv.
JLPM := cd labextension && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/jlpm

labextension: $(BIN)/python
	$(JLPM) install --immutable
	$(JLPM) build:prod
	$(BIN)/jupyter labextension develop --overwrite .

jstest:
	$(JLPM) test

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/pytest

# Every notebook against its committed recordings (no model, no network), outputs compared;
# then the quickstart once for real with the demo model (outputs not compared).
notebooks:
	NBSTREAM_REPLAY=$(CURDIR)/notebooks/recordings $(BIN)/pytest --nbval --nbval-current-env notebooks/
	env -u NBSTREAM_REPLAY -u NBSTREAM_RECORD $(BIN)/pytest --nbval-lax --nbval-current-env notebooks/01-quickstart.ipynb

# Re-run the example notebooks with real models and re-record their answers.
notebooks-record:
	for s in quickstart endpoints chat_widget prompts testing notebook_context bring_your_own; do $(BIN)/python scripts/make_$$s.py || exit 1; done

bench:
	$(BIN)/python bench/bench_magic.py
	$(BIN)/python bench/bench_llama_loop.py
	$(BIN)/python bench/bench_openai.py
	$(BIN)/python bench/bench_decoders.py
	$(BIN)/python bench/bench_widget.py
	$(BIN)/python bench/bench_wire.py
	$(BIN)/python bench/bench_show.py
	$(BIN)/python bench/bench_shapes.py
	$(BIN)/python bench/bench_frontend.py

soak:
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
