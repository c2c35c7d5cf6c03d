# Two commands do all the set-up on a fresh machine (see README):
#   make demo   # build, install, run the main job on the sample shipped in the package
#   make test   # build, install, run every test (cargo test + pytest)
# Both create ./.venv on first use and rebuild the Rust extension when it changed.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test build bench report clean

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

bench: build
	$(PY) -m pytest benches --benchmark-enable --benchmark-only

report: build
	$(PY) benches/compare.py --out benches/results

clean:
	rm -rf target runs python/dacl/*.so
