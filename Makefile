# quals: two environments, so that the runtime is proven to work without PyTorch.
#   .venv     full: runtime + exporter (torch 2.13.0 CPU, transformers, optimum) + test tools
#   .venv-rt  runtime only: numpy, onnxruntime, tokenizers, click (+ pytest)
PYTHON ?= python3
VENV := .venv
VENV_RT := .venv-rt
PIPFLAGS ?= -q

.PHONY: help venv venv-rt demo test test-full test-runtime lint demo-bundle clean

help:
	@echo "make demo   - install the runtime and score examples/pairs.jsonl with the bundled demo model"
	@echo "make test   - install both environments, run ruff and the whole test suite"

$(VENV)/.done: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: it is the local CPU wheel; anything else may pull a multi-GB CUDA build.
	$(VENV)/bin/pip install $(PIPFLAGS) torch==2.13.0
	$(VENV)/bin/pip install $(PIPFLAGS) -e '.[export,test]'
	touch $@

$(VENV_RT)/.done: pyproject.toml
	$(PYTHON) -m venv $(VENV_RT)
	$(VENV_RT)/bin/pip install $(PIPFLAGS) -e '.[test]'
	touch $@

venv: $(VENV)/.done
venv-rt: $(VENV_RT)/.done

demo: venv-rt
	$(VENV_RT)/bin/quals score --model models/tiny-random-bart --input examples/pairs.jsonl --signature

lint: venv
	$(VENV)/bin/ruff check .

# The full suite first: it builds the tiny test bundles that the torch-free run then reuses.
test-full: venv
	$(VENV)/bin/python -m pytest -q

test-runtime: venv-rt test-full
	$(VENV_RT)/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)" \
		|| (echo "error: torch is installed in $(VENV_RT)"; exit 1)
	$(VENV_RT)/bin/python -m pytest -q

test: lint test-full test-runtime

demo-bundle: venv
	$(VENV)/bin/python scripts/build_demo_bundle.py models/tiny-random-bart

clean:
	rm -rf build $(VENV) $(VENV_RT) .pytest_cache .ruff_cache
