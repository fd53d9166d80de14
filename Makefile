# Two commands on a fresh machine: `make pipeline` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
PYTEST_ARGS ?=

.PHONY: setup pipeline smoke test bench bench-tag bench-train bench-stream bench-search bench-search-quality bench-index bench-load lint lab clean-data clean-reports

# -qq: pip's errors only (a machine's own index settings can add a warning per package).
# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (CI here) a module
# not compiled then is compiled again by every process that imports it (--no-compile made
# the suite 150 s slower from a fresh clone)
PIP_INSTALL := $(PY) -m pip install -qq --disable-pip-version-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev]'
	@# musicnn's pretrained checkpoints only: its pinned deps (TensorFlow 1, NumPy<1.17) are not used
	$(PIP_INSTALL) --no-deps musicnn==0.1.0
	$(PY) -m filmgenre kernel
	touch $(STAMP)

setup: $(STAMP)  ## create .venv, install the package, register the 'filmgenre' Jupyter kernel

# the notebooks' Keras backend (the kernels inherit it): empty for TensorFlow, BACKEND=jax
# for a GPU machine with JAX's CUDA wheels (README: "On an NVIDIA GPU")
BACKEND ?=

pipeline: $(STAMP)  ## every notebook on the embedded data into reports/<run>/ (PROFILE=default|smoke|full, BACKEND=jax)
	$(if $(BACKEND),KERAS_BACKEND=$(BACKEND) )$(PY) -m filmgenre pipeline --profile $(PROFILE)

smoke: $(STAMP)
	$(PY) -m filmgenre pipeline --profile smoke

# two workers (the machine's two cores), a test file at a time; the two pipeline runs the
# tests of tests/notebooks/ read start in the background at collection (tests/conftest.py)
# and those tests run last, so the workers test everything else meanwhile
PYTEST_WORKERS ?= 2

test: $(STAMP)  ## the test suite (CI runs this through .ci/run)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)  ## extraction speed and memory vs a plain sequential librosa loop (needs ../shared)
	$(PY) benchmarks/bench_extraction.py

bench-tag: $(STAMP)  ## peak memory of `filmgenre tag` with the largest model, 100 vs 300 files
	$(PY) benchmarks/bench_tag_memory.py --baseline

bench-train: $(STAMP)  ## training tiles/s, our loop vs a plain model.fit, per tile model and precision
	$(PY) benchmarks/bench_train.py

bench-stream: $(STAMP)  ## peak memory and tiles/s of streamed vs in-memory training, 1x and 4x data
	$(PY) benchmarks/bench_stream_memory.py

bench-search: $(STAMP)  ## index latency, size and memory at 10k/100k/1M tracks; build rate on real audio
	$(PY) benchmarks/bench_search.py

bench-search-quality: $(STAMP)  ## genre mixes, "more like this" and the words of a brief (moods), cross-validated
	$(PY) benchmarks/bench_search_quality.py

bench-index: $(STAMP)  ## index build on 300 real cues and 6 songs: stages with start-up, musicnn engines and precisions, Dask 1 vs 2 workers
	$(PY) benchmarks/bench_index_build.py

bench-load: $(STAMP)  ## 50 clients for 30 s against `filmgenre serve` while the index updates (loopback)
	$(PY) benchmarks/bench_serve_load.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

lab: $(STAMP)  ## JupyterLab on the notebooks, with the project's kernel
	$(VENV)/bin/jupyter lab notebooks/

clean-data:
	rm -rf data/raw/synth-* data/interim data/processed

clean-reports:
	rm -rf reports/*/
