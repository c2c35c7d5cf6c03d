"""Scattering speed: dacl's Rust Scattering1D vs kymatio 0.3.0 (numpy, torch CPU).

Disabled by default (``--benchmark-disable`` in pyproject); ``make bench`` runs
the light part of the grid::

    .venv/bin/python -m pytest benches/test_bench_scattering.py --benchmark-enable --benchmark-only

Grid: N in {2048, 9000}, J in {6, 8}, Q in {8, (8, 2)}, B in {1, 64, 512}.
Each benchmark group is one parameter set ``N J Q B``, so pytest-benchmark's
table shows Rust float64, Rust float32, kymatio numpy and kymatio torch-CPU
side by side (compare medians within a group). Rust and torch use 2 threads.

The heavy cases (B=512 for every competitor, and kymatio at N=9000 with B=64)
take minutes; they are skipped unless
``DACL_BENCH_HEAVY=1``::

    DACL_BENCH_HEAVY=1 .venv/bin/python -m pytest benches/test_bench_scattering.py \\
        --benchmark-enable --benchmark-only

Rounds are few where one round is long (kymatio, B=512). For ratios, peak RSS
and accuracy in one report see ``benches/compare.py``.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from dacl import Scattering1D

THREADS = 2
HEAVY = os.environ.get("DACL_BENCH_HEAVY") == "1"
GRID = list(itertools.product([2048, 9000], [6, 8], [8, (8, 2)], [1, 64, 512]))
COMPETITORS = ["rust-float64", "rust-float32", "kymatio-numpy", "kymatio-torch"]


def is_heavy(n: int, batch: int, competitor: str) -> bool:
    return batch >= 512 or (competitor.startswith("kymatio") and n >= 9000 and batch >= 64)


def rounds(batch: int, competitor: str) -> int:
    if batch >= 512:
        return 2
    if competitor.startswith("kymatio"):
        return 3 if batch > 1 else 5
    return 5 if batch > 1 else 20


def cases():
    for (n, j, q, batch), competitor in itertools.product(GRID, COMPETITORS):
        marks = [pytest.mark.benchmark(group=f"scattering N={n} J={j} Q={q} B={batch}")]
        if is_heavy(n, batch, competitor):
            marks.append(pytest.mark.skipif(not HEAVY, reason="heavy: set DACL_BENCH_HEAVY=1"))
        qid = "x".join(map(str, q)) if isinstance(q, tuple) else str(q)
        yield pytest.param(n, j, q, batch, competitor, marks=marks, id=f"N{n}-J{j}-Q{qid}-B{batch}-{competitor}")


def make(competitor: str, n: int, j: int, q, x64: np.ndarray):
    """(callable, argument) that computes the competitor's transform once."""
    if competitor.startswith("rust"):
        s = Scattering1D(j, n, Q=q)
        x = x64 if competitor == "rust-float64" else x64.astype(np.float32)
        return (lambda v: s(v, num_threads=THREADS)), x
    if competitor == "kymatio-numpy":
        kymatio_numpy = pytest.importorskip("kymatio.numpy")
        return kymatio_numpy.Scattering1D(J=j, shape=n, Q=q), x64
    torch = pytest.importorskip("torch")
    kymatio_torch = pytest.importorskip("kymatio.torch")
    torch.set_num_threads(THREADS)
    s = kymatio_torch.Scattering1D(J=j, shape=n, Q=q)

    def run(v):
        with torch.no_grad():
            return s(v)

    return run, torch.from_numpy(x64.astype(np.float32))


@pytest.mark.parametrize("n, j, q, batch, competitor", list(cases()))
def test_scattering(benchmark, n, j, q, batch, competitor):
    x64 = np.random.default_rng(batch).standard_normal((batch, n))
    fn, x = make(competitor, n, j, q, x64)
    benchmark.extra_info["ms_per_signal_note"] = f"divide the times by B={batch}"
    out = benchmark.pedantic(fn, args=(x,), rounds=rounds(batch, competitor), warmup_rounds=1)
    paths = Scattering1D(j, n, Q=q).output_size()
    assert tuple(out.shape)[:2] == (batch, paths)
