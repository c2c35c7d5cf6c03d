"""dacl.NoiseSchedule, the schedule functions, forward_noise and standard_normal."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dacl import NoiseSchedule, cosine_betas, forward_noise, linear_betas, sigmoid_betas, standard_normal

# ---------------------------------------------------------------- closed forms (numpy, written here)


def _np_linear(T, b0=1e-4, b1=0.02):
    return np.linspace(b0, b1, T, dtype=np.float64)


def _np_cosine(T, s=0.008, max_beta=0.999):
    t = np.arange(T + 1, dtype=np.float64)
    f = np.cos(((t / T + s) / (1 + s)) * np.pi / 2) ** 2
    abar = f / f[0]
    return np.minimum(1 - abar[1:] / abar[:-1], max_beta)


def _np_sigmoid(T, start=-3.0, end=3.0, tau=1.0, max_beta=0.999):
    def sig(x):
        return 1 / (1 + np.exp(-x))

    t = np.arange(T + 1, dtype=np.float64) / T
    g = (sig(end / tau) - sig((t * (end - start) + start) / tau)) / (sig(end / tau) - sig(start / tau))
    abar = g / g[0]
    return np.clip(1 - abar[1:] / abar[:-1], 0, max_beta)


@pytest.mark.parametrize(
    "kind,params,ref",
    [
        ("linear", {}, _np_linear(1000)),
        ("linear", {"beta_start": 1e-3, "beta_end": 0.05}, _np_linear(57, 1e-3, 0.05)),
        ("cosine", {}, _np_cosine(1000)),
        ("cosine", {"s": 0.0, "max_beta": 0.5}, _np_cosine(33, 0.0, 0.5)),
        ("sigmoid", {}, _np_sigmoid(1000)),
        ("sigmoid", {"start": 0.0, "end": 3.0, "tau": 0.7}, _np_sigmoid(64, 0.0, 3.0, 0.7)),
    ],
)
def test_schedule_arrays_match_closed_forms(kind, params, ref):
    s = NoiseSchedule(kind, len(ref), **params)
    assert s.kind == kind and s.timesteps == len(ref) == len(s)
    for a in (s.betas, s.alphas, s.alphas_cumprod):
        assert a.dtype == np.float64 and a.shape == (len(ref),)
    np.testing.assert_allclose(s.betas, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(s.alphas, 1.0 - s.betas)
    np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1.0 - ref), rtol=1e-10, atol=0)
    abar = s.alphas_cumprod
    assert np.all(np.diff(abar) < 0) and np.all((abar > 0) & (abar < 1))


def test_linear_endpoints_exact_and_functions_agree_with_class():
    b = linear_betas(1000)
    assert b[0] == 1e-4 and b[-1] == 0.02
    np.testing.assert_array_equal(b, NoiseSchedule("linear", 1000).betas)
    np.testing.assert_array_equal(cosine_betas(50, s=0.01), NoiseSchedule("cosine", 50, s=0.01).betas)
    np.testing.assert_array_equal(sigmoid_betas(50, tau=0.5), NoiseSchedule("sigmoid", 50, tau=0.5).betas)


def test_cosine_abar_is_f_over_f0_where_unclipped():
    T, s = 500, 0.008
    abar = NoiseSchedule("cosine", T).alphas_cumprod
    t = np.arange(1, T + 1, dtype=np.float64)
    f = lambda u: np.cos(((u / T + s) / (1 + s)) * np.pi / 2) ** 2  # noqa: E731
    closed = f(t) / f(0.0)
    # Only the last step (f(T) ~ 0) is clipped at 0.999.
    np.testing.assert_allclose(abar[:-1], closed[:-1], rtol=1e-9)


def test_schedule_parameter_errors():
    with pytest.raises(TypeError, match="unexpected parameter 'beta_start' for the cosine"):
        NoiseSchedule("cosine", 10, beta_start=0.1)
    with pytest.raises(ValueError, match="kind must be"):
        NoiseSchedule("quadratic", 10)
    with pytest.raises(ValueError, match="timesteps"):
        NoiseSchedule("linear", 0)
    with pytest.raises(ValueError, match="beta_start"):
        NoiseSchedule("linear", 10, beta_start=0.5, beta_end=0.1)
    with pytest.raises(ValueError, match="max_beta"):
        NoiseSchedule("cosine", 10, max_beta=1.5)
    with pytest.raises(ValueError, match="tau"):
        NoiseSchedule("sigmoid", 10, tau=0.0)
    with pytest.raises(TypeError, match="timesteps must be an int"):
        NoiseSchedule("linear", 10.0)


# ---------------------------------------------------------------- q_sample


@pytest.fixture(scope="module")
def sched():
    return NoiseSchedule("cosine", 100)


def _z0(B, D, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal((B, D)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_q_sample_formula_reproduced_from_eps(sched, dtype):
    z0 = _z0(16, 33, dtype)
    t = np.random.default_rng(1).integers(0, 100, size=16).astype(np.int64)
    zt, eps = sched.q_sample(z0, t, seed=3)
    assert zt.dtype == eps.dtype == np.dtype(dtype) and zt.shape == eps.shape == z0.shape
    ab = sched.alphas_cumprod[t][:, None]
    expect = np.sqrt(ab) * z0.astype(np.float64) + np.sqrt(1.0 - ab) * eps.astype(np.float64)
    np.testing.assert_array_equal(zt, expect.astype(dtype))


def test_q_sample_eps_is_the_documented_stream(sched):
    z0 = _z0(8, 10)
    t = np.full(8, 5, dtype=np.int64)
    _, eps = sched.q_sample(z0, t, seed=11, offset=123)
    np.testing.assert_array_equal(eps.ravel(), standard_normal(80, seed=11, offset=123))
    _, eps32 = sched.q_sample(z0.astype(np.float32), t, seed=11, offset=123)
    np.testing.assert_array_equal(eps32, eps.astype(np.float32))


def test_q_sample_views_shape_and_layout(sched):
    B, K, D = 5, 3, 7
    z0 = _z0(B, D)
    t = np.random.default_rng(2).integers(0, 100, size=(B, K)).astype(np.int64)
    zt, eps = sched.q_sample(z0, t, seed=4)
    assert zt.shape == eps.shape == (B, K, D)
    np.testing.assert_array_equal(eps.ravel(), standard_normal(B * K * D, seed=4))
    ab = sched.alphas_cumprod[t][..., None]
    np.testing.assert_array_equal(zt, np.sqrt(ab) * z0[:, None, :] + np.sqrt(1 - ab) * eps)
    # Views of one sample get different noise.
    assert not np.array_equal(eps[:, 0], eps[:, 1])


def test_q_sample_determinism_threads_and_chunking(sched):
    z0 = _z0(64, 50)
    t = np.random.default_rng(5).integers(0, 100, size=64).astype(np.int64)
    a = sched.q_sample(z0, t, seed=9, num_threads=1)
    b = sched.q_sample(z0, t, seed=9, num_threads=2)
    c = sched.q_sample(z0, t, seed=9)
    for u, v, w in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)
    # The second half alone, offset by the first element's flat index.
    h = sched.q_sample(np.ascontiguousarray(z0[32:]), t[32:], seed=9, offset=32 * 50)
    np.testing.assert_array_equal(h[0], a[0][32:])
    np.testing.assert_array_equal(h[1], a[1][32:])
    d = sched.q_sample(z0, t, seed=10)
    assert not np.array_equal(a[1], d[1])


def test_q_sample_noise_distribution(sched):
    n_rows, D = 400, 250  # 1e5 draws
    z0 = np.zeros((n_rows, D))
    t = np.full(n_rows, 99, dtype=np.int64)
    _, eps = sched.q_sample(z0, t, seed=2024)
    e = eps.ravel()
    n = e.size
    # 5-sigma bounds on mean (1/sqrt(n)) and variance (sqrt(2/n)).
    assert abs(e.mean()) < 5 / np.sqrt(n)
    assert abs(e.var() - 1) < 5 * np.sqrt(2 / n)
    within1 = np.mean(np.abs(e) < 1)
    assert abs(within1 - 0.6826894921) < 5 * np.sqrt(0.68 * 0.32 / n)


def test_standard_normal_shapes_and_offsets():
    a = standard_normal((3, 4), seed=1)
    assert a.shape == (3, 4) and a.dtype == np.float64
    flat = standard_normal(20, seed=1)
    np.testing.assert_array_equal(a.ravel(), flat[:12])
    np.testing.assert_array_equal(standard_normal(5, seed=1, offset=7), flat[7:12])
    assert standard_normal(0, seed=1).shape == (0,)
    # Large requests cross internal chunk boundaries without seams.
    big = standard_normal(40_000, seed=3, offset=1)
    np.testing.assert_array_equal(big[16_383:16_390], standard_normal(7, seed=3, offset=16_384))


@pytest.mark.parametrize(
    "z0,t,kw,exc,pattern",
    [
        (np.zeros((4, 3)), np.array([0, 1, 2, 100]), {}, ValueError, r"t\[3\] = 100 is outside \[0, 100\)"),
        (np.zeros((4, 3)), np.array([0, 1, -1, 2]), {}, ValueError, r"t\[2\] = -1"),
        (np.zeros((2, 3)), np.array([[0, 100], [1, 2]]), {}, ValueError, r"t\[0, 1\] = 100"),
        (np.zeros((4, 3)), np.zeros(4, dtype=np.int32), {}, TypeError, "t must have dtype int64"),
        (np.zeros((4, 3)), np.zeros(3, dtype=np.int64), {}, ValueError, "t has 3 rows but z0 has B = 4"),
        (np.zeros((4, 3)), np.zeros((4, 1, 1), dtype=np.int64), {}, ValueError, "t must be"),
        (np.zeros((4, 3), dtype=np.int64), np.zeros(4), {}, TypeError, "z0 must have dtype"),
        (np.zeros(4), np.zeros(4), {}, ValueError, "z0 must be 2-D"),
        (np.zeros((4, 6))[:, ::2], np.zeros(4), {}, ValueError, "C-contiguous"),
        ([[0.0]], np.zeros(1), {}, TypeError, "z0 must be a numpy.ndarray"),
        (np.zeros((4, 3)), np.zeros(4), {"seed": -1}, ValueError, "seed must be in"),
        (np.zeros((4, 3)), np.zeros(4), {"seed": 2**64}, ValueError, "seed must be in"),
        (np.zeros((4, 3)), np.zeros(4), {"offset": -3}, ValueError, "offset must be in"),
        (np.zeros((4, 3)), np.zeros(4), {"num_threads": 0}, ValueError, "num_threads"),
    ],
)
def test_q_sample_errors(sched, z0, t, kw, exc, pattern):
    if isinstance(t, np.ndarray) and t.dtype == np.float64:
        t = t.astype(np.int64)
    kw = {"seed": 0, **kw}
    with pytest.raises(exc, match=pattern):
        sched.q_sample(z0, t, **kw)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("views", [None, 2])
def test_q_sample_rejects_non_finite_z0(sched, bad, dtype, views):
    z0 = np.zeros((3, 4), dtype)
    z0[1, 2] = bad
    t = np.zeros(3 if views is None else (3, views), np.int64)
    with pytest.raises(ValueError, match=r"z0 row 1 contains a non-finite value \(NaN or inf\) at index 2"):
        sched.q_sample(z0, t, seed=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [None, 1, 3])
def test_forward_noise_at_schedule_levels_is_q_sample(sched, dtype, threads):
    x0 = np.random.default_rng(3).standard_normal((5, 33)).astype(dtype)
    t = np.array([0, 7, 7, 50, 99], np.int64)
    want = sched.q_sample(x0, t, seed=9, offset=123)
    got = forward_noise(x0, sched.alphas_cumprod[t], 9, 123, num_threads=threads)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == dtype and g.shape == x0.shape
        np.testing.assert_array_equal(g, w)
    # A batch cut in two with the offset of its second part's first element reproduces the whole.
    tail = forward_noise(x0[3:], sched.alphas_cumprod[t[3:]], 9, 123 + 3 * 33)
    np.testing.assert_array_equal(tail[0], got[0][3:])


def test_forward_noise_levels_between_steps_and_at_the_ends():
    x0 = np.linspace(-1, 1, 12).reshape(3, 4)
    abar = np.array([1.0, 0.25, 0.0])
    x_t, eps = forward_noise(x0, abar, 5)
    np.testing.assert_array_equal(eps.ravel(), standard_normal(12, 5))
    np.testing.assert_array_equal(x_t[0], x0[0])  # no noise
    np.testing.assert_array_equal(x_t[2], eps[2])  # noise alone
    np.testing.assert_allclose(x_t[1], 0.5 * x0[1] + np.sqrt(0.75) * eps[1], rtol=1e-15)


@pytest.mark.parametrize(
    "x0, abar, error, message",
    [
        (np.zeros((2, 3)), np.array([0.5, 1.5]), ValueError, r"abar\[1\] = 1.5 is outside \[0, 1\]"),
        (np.zeros((2, 3)), np.array([np.nan, 0.5]), ValueError, r"abar\[0\] = NaN is outside"),
        (np.zeros((2, 3)), np.array([0.5]), ValueError, "abar has 1 levels but x0 has 2 rows"),
        (np.zeros((2, 3)), np.array([0.5, 0.5], np.float32), TypeError, "abar must be a 1-D numpy.ndarray of float64"),
        (np.zeros((2, 3)), [0.5, 0.5], TypeError, "abar must be a 1-D numpy.ndarray of float64"),
        (np.zeros((2, 3), np.int64), np.array([0.5, 0.5]), TypeError, "x0 must have dtype float32 or float64"),
        (np.zeros(3), np.array([0.5]), ValueError, r"x0 must be 2-D \(B, D\), got ndim=1"),
        (np.zeros((3, 2)).T, np.array([0.5, 0.5]), ValueError, "x0 is not C-contiguous"),
        (np.array([[0.0, np.inf]]), np.array([0.5]), ValueError, r"x0 row 0 contains a non-finite value"),
    ],
)
def test_forward_noise_rejects_bad_input(x0, abar, error, message):
    with pytest.raises(error, match=message):
        forward_noise(x0, abar, 0)


def test_torch_can_consume_the_schedule(sched):
    torch = pytest.importorskip("torch")
    abar = torch.from_numpy(sched.alphas_cumprod)
    assert abar.dtype == torch.float64 and abar.shape == (100,)
    z0 = torch.randn(4, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 10, 50, 99])
    zt, eps = sched.q_sample(z0.numpy(), t.numpy(), seed=1)
    ab = abar[t][:, None]
    ref = ab.sqrt() * z0 + (1 - ab).sqrt() * torch.from_numpy(eps)
    torch.testing.assert_close(torch.from_numpy(zt), ref, rtol=1e-15, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    B=st.integers(0, 6),
    D=st.integers(0, 9),
    K=st.one_of(st.none(), st.integers(0, 3)),
    T=st.integers(1, 50),
    t_lo=st.integers(-3, 60),
    dtype=st.sampled_from([np.float32, np.float64, np.float16]),
    seed=st.integers(-(2**65), 2**65),
    offset=st.integers(-5, 2**64 + 5),
)
def test_property_q_sample_shapes_or_clean_errors(B, D, K, T, t_lo, dtype, seed, offset):
    sched = NoiseSchedule("linear", T)
    z0 = np.random.default_rng(0).standard_normal((B, D)).astype(dtype)
    shape = (B,) if K is None else (B, K)
    t = (np.arange(int(np.prod(shape))) + t_lo).reshape(shape).astype(np.int64)
    try:
        zt, eps = sched.q_sample(z0, t, seed=seed, offset=offset)
    except (ValueError, TypeError):
        return
    expect = (B, D) if K is None else (B, K, D)
    assert zt.shape == eps.shape == expect
    assert zt.dtype == eps.dtype == np.dtype(dtype)
    assert np.isfinite(zt).all() and np.isfinite(eps).all()
    assert np.all((t >= 0) & (t < T))
