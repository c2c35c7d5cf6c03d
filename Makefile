# Two commands do all the set-up on a fresh machine (see README):
#   make demo   # build, install, run the main job on the sample shipped in the package
#   make test   # build, install, run every test (cargo test + pytest)
# Both create ./.venv on first use and rebuild the Rust extension when it changed.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint build bench report gpu-bundle clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q 'maturin>=1.9,<2' -e '.[test]'
	touch $@

# Rebuild the extension in place when the Rust sources changed (incremental).
build: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q --skip-install

demo: build
	$(VENV)/bin/dacl demo --out runs/demo

test: build
	cargo test --release
	$(PY) -m pytest

# The lint gate (CI runs it before the tests): Python style and types, the native stub, Rust style and clippy.
lint: build
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy.stubtest dacl._native --allowlist .mypy-stubtest-allowlist
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --release --all-targets --features python -- -D warnings

bench: build
	$(PY) -m pytest benches --benchmark-enable --benchmark-only

report: build
	$(PY) benches/compare.py --out benches/results

# Wheels for a GPU machine with torch but no Rust and no network (README, "GPU"): the abi3
# extension, plus what its image lacks to read WFDB records (wfdb, soundfile, cffi, pycparser).
gpu-bundle: $(STAMP)
	rm -rf .whl && mkdir -p .whl
	$(VENV)/bin/maturin build --release -q --out .whl
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl wfdb==4.3.1 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12

clean:
	rm -rf target runs python/dacl/*.so
