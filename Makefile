# Two entry points for users: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lab bench corpus clean

# The compiled step of the fast decoder (turingformer/runtime/_kernel.c) is built by the install:
# a changed C source reinstalls too.
$(STAMP): setup.cfg setup.py pyproject.toml turingformer/runtime/_kernel.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,notebooks,census]'
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
