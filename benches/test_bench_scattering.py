"""Scattering speed: dacl's Rust Scattering1D vs kymatio 0.3.0 (numpy, torch CPU).

Disabled by default (``--benchmark-disable`` in pyproject). Run with

    .venv/bin/python -m pytest benches/test_bench_scattering.py --benchmark-enable

All four time one batch of B=64 signals of N=9000 samples (30 s of ECG at
300 Hz), J=8, Q=8. The group's table compares them; for the ratios in one
line see ``benches/scattering_ratio.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from dacl import Scattering1D

N, J, Q, BATCH = 9000, 8, 8, 64


@pytest.fixture(scope="module")
def batch64() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((BATCH, N))


@pytest.mark.benchmark(group="scattering N=9000 J=8 Q=8 B=64")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_rust(benchmark, batch64, dtype):
    transform = Scattering1D(J, N, Q=Q)
    x = batch64.astype(dtype)
    out = benchmark.pedantic(transform, args=(x,), rounds=5, warmup_rounds=1)
    assert out.shape == (BATCH, 234, 35)


@pytest.mark.benchmark(group="scattering N=9000 J=8 Q=8 B=64")
def test_kymatio_numpy(benchmark, batch64):
    kymatio_numpy = pytest.importorskip("kymatio.numpy")
    transform = kymatio_numpy.Scattering1D(J=J, shape=N, Q=Q)
    out = benchmark.pedantic(transform, args=(batch64,), rounds=3, warmup_rounds=1)
    assert out.shape == (BATCH, 234, 35)


@pytest.mark.benchmark(group="scattering N=9000 J=8 Q=8 B=64")
def test_kymatio_torch_cpu(benchmark, batch64):
    torch = pytest.importorskip("torch")
    kymatio_torch = pytest.importorskip("kymatio.torch")
    torch.set_num_threads(2)
    transform = kymatio_torch.Scattering1D(J=J, shape=N, Q=Q)
    x = torch.from_numpy(batch64.astype(np.float32))

    def run():
        with torch.no_grad():
            return transform(x)

    out = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    assert tuple(out.shape) == (BATCH, 234, 35)
