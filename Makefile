# Set-up and the two commands of the README: `make run` and `make test`.
# torch comes as a CPU-only wheel, pinned here (override with e.g. TORCH_SPEC="torch==2.14.1"): the one
# pip's find-links offer on this disk when PIP_FIND_LINKS holds one, else from the PyTorch CPU index
# (TORCH_INDEX), never PyPI's default build with CUDA, several GB.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
LOCAL_TORCH := $(wildcard $(addsuffix /torch-*cpu*.whl,$(subst :, ,$(PIP_FIND_LINKS))))
TORCH_FROM := $(if $(LOCAL_TORCH),,--index-url $(TORCH_INDEX))
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= results

.PHONY: install run test test-fast lint bench docs serve-docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(TORCH_FROM)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The main job: IMP on NLGP and on its Gaussian clone (quick preset, resumable), then its report.
run: $(STAMP)
	$(BIN)/cavitykit run --preset quick --out $(OUT) --report

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Everything but GPU and timing tests, once with Numba's JIT and once more
# (the fast kernel tests) with the JIT off so the kernels' Python logic is covered; then the site.
test: lint
	$(BIN)/python -m pytest -m "not gpu and not bench"
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -m "nojit" -p no:cacheprovider
	$(MAKE) docs

# The site (build/site): guide, theory, API reference, and every notebook executed; any warning or
# failed notebook check is an error.
docs: $(STAMP)
	MPLBACKEND=Agg NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

serve-docs: $(STAMP)
	$(BIN)/mkdocs serve

test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not gpu and not bench"

bench: $(STAMP)
	$(BIN)/cavitykit bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
