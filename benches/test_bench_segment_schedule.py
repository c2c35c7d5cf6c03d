"""Benchmarks: Rust `segment` vs the same pipeline in numpy/scipy, and Rust
`q_sample` vs the same computation in torch on CPU (torch.randn + formula).

Disabled by default (pytest-benchmark); run side by side with::

    .venv/bin/python -m pytest benches/test_bench_segment_schedule.py --benchmark-enable -s

The last test prints the median-time ratios (reference / Rust).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.signal as ss

from dacl import NoiseSchedule, segment

MEDIANS: dict[str, float] = {}

# 64 records of 30 s at 300 Hz, to 250 Hz, 0.5-40 Hz band-pass, 10 s windows, 50 % overlap.
FS, TARGET, BAND, WINDOW, HOP = 300.0, 250.0, (0.5, 40.0), 2500, 1250
RECORDS = [np.random.default_rng(i).standard_normal(9000) for i in range(64)]

# q_sample: 256 samples x 2 views x 1024 features.
B, K, D, T = 256, 2, 1024, 1000


def _numpy_segment(xs):
    r = Fraction(TARGET) / Fraction(FS)
    sos = ss.butter(2, BAND, "bandpass", fs=TARGET, output="sos")
    out, idx, starts = [], [], []
    for i, x in enumerate(xs):
        y = ss.sosfiltfilt(sos, ss.resample_poly(x, r.numerator, r.denominator))
        st = np.arange(0, len(y) - WINDOW + 1, HOP)
        w = np.lib.stride_tricks.sliding_window_view(y, WINDOW)[st]
        w = (w - w.mean(axis=1, keepdims=True)) / w.std(axis=1, keepdims=True)
        out.append(w)
        idx.append(np.full(len(st), i, dtype=np.int64))
        starts.append(st.astype(np.int64))
    return np.concatenate(out), np.concatenate(idx), np.concatenate(starts)


def _record(name, benchmark):
    if benchmark.stats is not None:
        MEDIANS[name] = benchmark.stats.stats.median


def test_segment_rust(benchmark):
    w, _, _ = benchmark(segment, RECORDS, FS, WINDOW, HOP, band=BAND, zscore=True, target_fs=TARGET)
    ref, _, _ = _numpy_segment(RECORDS[:2])
    np.testing.assert_allclose(w[: len(ref)], ref, atol=1e-8)
    _record("segment_rust", benchmark)


def test_segment_numpy_scipy(benchmark):
    benchmark(_numpy_segment, RECORDS)
    _record("segment_numpy", benchmark)


@pytest.fixture(scope="module")
def qs_inputs():
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal((B, D)).astype(np.float32)
    t = rng.integers(0, T, size=(B, K)).astype(np.int64)
    return NoiseSchedule("cosine", T), z0, t


def test_q_sample_rust(benchmark, qs_inputs):
    sched, z0, t = qs_inputs
    zt, _ = benchmark(sched.q_sample, z0, t, 0)
    assert zt.shape == (B, K, D)
    _record("q_sample_rust", benchmark)


def test_q_sample_torch(benchmark, qs_inputs):
    torch = pytest.importorskip("torch")
    sched, z0, t = qs_inputs
    abar = torch.from_numpy(sched.alphas_cumprod)
    z0t, tt = torch.from_numpy(z0), torch.from_numpy(t)
    gen = torch.Generator().manual_seed(0)

    def torch_q_sample():
        ab = abar[tt].unsqueeze(-1).to(torch.float32)
        eps = torch.randn(B, K, D, generator=gen, dtype=torch.float32)
        return ab.sqrt() * z0t.unsqueeze(1) + (1 - ab).sqrt() * eps, eps

    zt, _ = benchmark(torch_q_sample)
    assert zt.shape == (B, K, D)
    _record("q_sample_torch", benchmark)


def test_print_ratios(capsys):
    with capsys.disabled():
        for rust, ref in [("segment_rust", "segment_numpy"), ("q_sample_rust", "q_sample_torch")]:
            if rust in MEDIANS and ref in MEDIANS:
                print(
                    f"\n{ref} / {rust}: {MEDIANS[ref] / MEDIANS[rust]:.2f}x "
                    f"(median {MEDIANS[ref] * 1e3:.2f} ms vs {MEDIANS[rust] * 1e3:.2f} ms)"
                )
