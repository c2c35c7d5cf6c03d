"""dacl.segment / segment_flat: parity with scipy/numpy and error handling."""

from fractions import Fraction

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from dacl import segment, segment_flat


def _scipy_pipeline(x, fs, target_fs=None, band=None, order=2):
    """The reference: resample_poly → sosfiltfilt(butter) with scipy defaults."""
    fs_out = fs if target_fs is None else target_fs
    if target_fs is not None and target_fs != fs:
        r = Fraction(target_fs) / Fraction(fs)
        x = ss.resample_poly(x, r.numerator, r.denominator)
    if band is not None:
        x = ss.sosfiltfilt(ss.butter(order, band, "bandpass", fs=fs_out, output="sos"), x)
    return x


def _ref_windows(x, window, hop, tail):
    """Windows by the documented rule, written with numpy slicing/np.pad."""
    n = len(x)
    wins, starts = [], []
    s = 0
    while s + window <= n:
        wins.append(x[s : s + window])
        starts.append(s)
        s += hop
    covered = starts[-1] + window if starts else 0
    if tail != "drop" and s < n and covered < n:
        mode = "constant" if tail == "pad" else "reflect"
        ext = np.pad(x, (0, s + window - n), mode=mode)
        wins.append(ext[s : s + window])
        starts.append(s)
    return wins, starts


def _assert_close(actual, expected, rel=1e-9):
    scale = max(np.max(np.abs(expected)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rel * scale)


@pytest.mark.parametrize("fs,target", [(300, 250), (300, 500), (360, 250), (500, 128), (250, 250)])
def test_resampling_matches_resample_poly(fs, target):
    x = np.random.default_rng(1).standard_normal(1237)
    ref = _scipy_pipeline(x, fs, target_fs=target)
    w, ri, st_ = segment([x], fs, len(ref), len(ref), target_fs=target)
    assert w.shape == (1, len(ref))
    _assert_close(w[0], ref)


@pytest.mark.parametrize(
    "fs,band,order", [(500, (0.5, 40.0), 2), (500, (0.05, 150.0), 3), (250, (1.0, 45.0), 1), (360, (5.0, 15.0), 4)]
)
def test_bandpass_matches_sosfiltfilt_butter(fs, band, order):
    x = np.random.default_rng(2).standard_normal(2000) + np.linspace(-3, 5, 2000)
    ref = _scipy_pipeline(x, fs, band=band, order=order)
    w, _, _ = segment([x], fs, len(x), len(x), band=band, band_order=order)
    _assert_close(w[0], ref)


def test_resample_then_bandpass_then_windows():
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(n) for n in (900, 1501, 3000)]
    window, hop = 250, 100
    w, ri, starts = segment(xs, 300, window, hop, band=(0.5, 40.0), target_fs=250, tail="pad")
    k = 0
    for i, x in enumerate(xs):
        y = _scipy_pipeline(x, 300, target_fs=250, band=(0.5, 40.0))
        wins, ss_ = _ref_windows(y, window, hop, "pad")
        for win, s in zip(wins, ss_, strict=True):
            assert ri[k] == i and starts[k] == s
            _assert_close(w[k], win)
            k += 1
    assert k == len(w)


@pytest.mark.parametrize("tail", ["drop", "pad", "reflect"])
@pytest.mark.parametrize(
    "n,window,hop", [(10, 4, 2), (11, 4, 2), (11, 4, 3), (9, 2, 8), (9, 2, 4), (20, 5, 5), (23, 5, 7)]
)
def test_windows_follow_the_tail_rule(tail, n, window, hop):
    x = np.arange(n, dtype=np.float64) ** 1.5
    w, ri, starts = segment([x, x[::-1].copy()], 100.0, window, hop, tail=tail)
    wins0, s0 = _ref_windows(x, window, hop, tail)
    wins1, s1 = _ref_windows(x[::-1].copy(), window, hop, tail)
    np.testing.assert_array_equal(w, np.array(wins0 + wins1))
    np.testing.assert_array_equal(starts, np.array(s0 + s1))
    np.testing.assert_array_equal(ri, np.array([0] * len(s0) + [1] * len(s1)))
    assert ri.dtype == np.int64 and starts.dtype == np.int64


@pytest.mark.parametrize("tail", ["pad", "reflect"])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_short_record_gives_one_completed_window(tail, n):
    x = np.arange(1, n + 1, dtype=np.float64)
    w, ri, starts = segment([x], 1.0, 8, 3, tail=tail)
    mode = "constant" if tail == "pad" else "reflect"
    np.testing.assert_array_equal(w, np.pad(x, (0, 8 - n), mode=mode)[None, :])
    assert list(starts) == [0] and list(ri) == [0]


def test_short_record_with_drop_names_record_and_length():
    xs = [np.ones(50), np.ones(7)]
    with pytest.raises(ValueError, match=r"record 1 .*7 samples.*10"):
        segment(xs, 100.0, 10, 5)


def test_zscore_per_window_and_constant_window():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.standard_normal(30) * 3 + 2, np.full(10, 0.1)])
    w, _, _ = segment([x], 1.0, 10, 10, zscore=True)
    raw, _, _ = segment([x], 1.0, 10, 10)
    for got, r in zip(w[:3], raw[:3], strict=True):
        np.testing.assert_allclose(got, (r - r.mean()) / r.std(), rtol=1e-12, atol=1e-12)
    assert np.all(w[3] == 0.0)
    assert np.isfinite(w).all()


def test_float32_in_float32_out():
    x = np.random.default_rng(5).standard_normal(1000)
    w64, _, _ = segment([x], 300, 100, 50, target_fs=250, band=(0.5, 40.0), zscore=True)
    w32, ri, st_ = segment([x.astype(np.float32)], 300, 100, 50, target_fs=250, band=(0.5, 40.0), zscore=True)
    assert w32.dtype == np.float32 and w64.dtype == np.float64
    ref32, _, _ = segment(
        [x.astype(np.float32).astype(np.float64)], 300, 100, 50, target_fs=250, band=(0.5, 40.0), zscore=True
    )
    # f32 input is widened, processed in f64 and rounded once at the end.
    np.testing.assert_array_equal(w32, ref32.astype(np.float32))


def test_segment_flat_equals_segment():
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal(n) for n in (400, 123, 999, 64)]
    buf = np.concatenate(xs)
    offsets = np.cumsum([0] + [len(x) for x in xs]).astype(np.int64)
    kw = dict(tail="reflect", band=(1.0, 30.0), zscore=True, target_fs=250)
    a = segment(xs, 300, 64, 32, **kw)
    b = segment_flat(buf, offsets, 300, 64, 32, **kw)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_bit_identical_for_any_thread_count():
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(int(n)) for n in rng.integers(300, 3000, size=24)]
    kw = dict(tail="pad", band=(0.5, 40.0), zscore=True, target_fs=250)
    one = segment(xs, 300, 250, 125, num_threads=1, **kw)
    two = segment(xs, 300, 250, 125, num_threads=2, **kw)
    default = segment(xs, 300, 250, 125, **kw)
    for a, b, c in zip(one, two, default, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


# ---------------------------------------------------------------- errors

GOOD = np.zeros(100)


@pytest.mark.parametrize(
    "signals,kwargs,exc,pattern",
    [
        ([], {}, ValueError, "empty"),
        ([GOOD, np.zeros(0)], {}, ValueError, "record 1 is empty"),
        ([GOOD, np.array([0.0] * 20 + [np.nan] + [0.0] * 20)], {}, ValueError, r"record 1 .*non-finite.*index 20"),
        ([np.array([0.0] * 20 + [np.inf])], {}, ValueError, r"record 0 .*index 20"),
        ([np.zeros(100, dtype=np.int64)], {}, TypeError, "record 0 must have dtype float32 or float64"),
        ([GOOD, np.zeros(100, dtype=np.float32)], {}, TypeError, "record 1 has a different dtype"),
        ([np.zeros((2, 50))[0:1]], {}, ValueError, "record 0 must be 1-D"),
        ([np.zeros(200)[::2]], {}, ValueError, "record 0 is not C-contiguous"),
        ([[0.0] * 100], {}, TypeError, "record 0 must be a numpy.ndarray"),
        (GOOD, {}, TypeError, "sequence of 1-D arrays"),
        ([GOOD], {"window": 0}, ValueError, "window must be > 0"),
        ([GOOD], {"hop": -1}, ValueError, "hop must be > 0"),
        ([GOOD], {"fs": 0.0}, ValueError, "fs must be"),
        ([GOOD], {"fs": float("nan")}, ValueError, "fs must be"),
        ([GOOD], {"band": (40.0, 0.5)}, ValueError, "0 < lo < hi < Nyquist"),
        ([GOOD], {"band": (0.5, 50.0)}, ValueError, "0 < lo < hi < Nyquist"),
        ([GOOD], {"band": (0.0, 10.0)}, ValueError, "0 < lo < hi < Nyquist"),
        ([GOOD], {"band": (1.0, 10.0), "band_order": 0}, ValueError, "band_order"),
        ([GOOD, np.zeros(12)], {"band": (1.0, 10.0), "window": 5}, ValueError, "record 1 has 12 samples"),
        ([GOOD], {"tail": "wrap"}, ValueError, "tail must be"),
        ([GOOD], {"target_fs": -5.0}, ValueError, "target_fs"),
        ([GOOD], {"target_fs": 100.0 * np.pi}, ValueError, "not a ratio"),
        ([GOOD], {"num_threads": 0}, ValueError, "num_threads"),
        ([GOOD], {"window": 2**70}, ValueError, "window is out of range"),
        ([GOOD], {"window": 10.0}, TypeError, "window must be an int"),
    ],
)
def test_bad_input_raises_clear_errors(signals, kwargs, exc, pattern):
    args = {"fs": 100.0, "window": 10, "hop": 5, **kwargs}
    fs, window, hop = args.pop("fs"), args.pop("window"), args.pop("hop")
    with pytest.raises(exc, match=pattern):
        segment(signals, fs, window, hop, **args)


@pytest.mark.parametrize(
    "offsets,pattern",
    [
        ([0, 60, 50, 100], "non-decreasing"),
        ([0, 50, 90], "does not match the buffer length 100"),
        ([5, 50, 100], r"offsets\[0\] must be 0"),
        ([0], "R \\+ 1 >= 2"),
        ([0, 50, 50, 100], "record 1 is empty"),
    ],
)
def test_segment_flat_offset_errors(offsets, pattern):
    with pytest.raises(ValueError, match=pattern):
        segment_flat(np.zeros(100), np.array(offsets, dtype=np.int64), 100.0, 10, 5)


def test_segment_flat_offset_dtype():
    with pytest.raises(TypeError, match="int64"):
        segment_flat(np.zeros(100), np.array([0, 100], dtype=np.int32), 100.0, 10, 5)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 80), min_size=0, max_size=4),
    window=st.integers(-2, 40),
    hop=st.integers(-2, 40),
    tail=st.sampled_from(["drop", "pad", "reflect", "bogus"]),
    dtype=st.sampled_from([np.float32, np.float64, np.int32]),
    zscore=st.booleans(),
    band=st.sampled_from([None, (1.0, 10.0), (0.0, 10.0), (5.0, 60.0)]),
    target=st.sampled_from([None, 100.0, 50.0, 120.0, 37.3]),
    poison=st.sampled_from([None, np.nan, np.inf]),
)
def test_property_shapes_or_clean_errors(lengths, window, hop, tail, dtype, zscore, band, target, poison):
    rng = np.random.default_rng(len(lengths) * 1000 + abs(window))
    xs = [rng.standard_normal(n).astype(dtype) for n in lengths]
    if poison is not None and xs and len(xs[0]) > 0 and dtype != np.int32:
        xs[0][len(xs[0]) // 2] = poison
    try:
        w, ri, starts = segment(xs, 100.0, window, hop, tail=tail, band=band, zscore=zscore, target_fs=target)
    except (ValueError, TypeError):
        return
    assert w.dtype == np.dtype(dtype)
    assert w.ndim == 2 and w.shape[1] == window
    assert ri.shape == starts.shape == (w.shape[0],)
    assert np.isfinite(w).all()
    assert np.all(np.diff(ri) >= 0) and set(ri.tolist()) == set(range(len(xs)))
    assert np.all(starts % hop == 0)


@pytest.mark.parametrize("tail", ["pad", "reflect"])
@pytest.mark.parametrize("window", [2**62, 2**63 - 1])
def test_windows_beyond_the_address_space_are_value_errors(tail, window):
    # Checked arithmetic refuses them before allocating (a MemoryError for sizes that merely do not
    # fit in memory is tested in a memory-limited child: tests/test_native_hostile.py).
    with pytest.raises(ValueError, match="cannot allocate the windows .* exceed the address space"):
        segment([np.zeros(5000)], 300.0, window, 1, tail=tail)


def test_huge_hop_gives_the_windows_that_fit():
    w, idx, starts = segment([np.arange(5000.0)], 300.0, 10, 2**62, tail="pad")
    assert w.shape == (1, 10) and starts.tolist() == [0] and idx.tolist() == [0]
