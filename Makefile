# Two entry points for users: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lab bench corpus clean

# The exports' extras (docs/export.md) need torch. It is installed first, pinned (TORCH; a CPU build
# where one is at hand): an unpinned torch resolves to GBs of CUDA wheels. Where the pin cannot be
# installed, the torch extras are left out and their tests skip; onnx needs no torch.
TORCH  ?= torch==2.13.0
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# The compiled step of the fast decoder (turingformer/runtime/_kernel.c) is built by the install:
# a changed C source reinstalls too.
$(STAMP): setup.cfg setup.py pyproject.toml turingformer/runtime/_kernel.c
	$(PYTHON) -m venv $(VENV)
	@if $(PIP) '$(TORCH)'; then extras=test,notebooks,census,onnx,torch,interp; else \
	  echo "NOTE: could not install $(TORCH): the torch export tests will be SKIPPED (docs/export.md, Install)"; \
	  extras=test,notebooks,census,onnx; fi; \
	echo "$(PIP) -e '.[$$extras]'"; $(PIP) -e ".[$$extras]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/turingformer demo

test: $(STAMP)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  echo "NOTE: no chromium/chromedriver here: the browser test will be SKIPPED (apt-get install -y chromium chromium-driver)"
	$(BIN)/python -m pytest -n 2 -q --nbmake tests notebooks

# JupyterLab on the notebooks; jupytext keeps each .ipynb and its .py (percent format) in sync on save.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# The benchmarks of docs/benchmarks.md (about 15 minutes on 2 cores). The long campaigns are
# separate commands: benchmarks/fuzz.py (issue 9), census.py (docs/census.md),
# two_transformers.py (docs/two-transformers.md), precision_tables.py (docs/precision.md),
# bb5.py (BB(5) to its halt through the transformer, docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/simulator.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/corpus.py
	$(BIN)/python benchmarks/million.py
	$(BIN)/python benchmarks/looped.py
	$(BIN)/python benchmarks/loaders.py

corpus: $(STAMP)
	$(BIN)/python benchmarks/corpus.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
