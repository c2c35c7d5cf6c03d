"""Bad arguments and bad inputs to Scattering1D raise ValueError/TypeError with
a message naming the problem, never anything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dacl import Scattering1D


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"J": -1, "shape": 64}, ValueError, "J must be >= 0"),
        ({"J": 2.0, "shape": 64}, TypeError, "J must be an int"),
        ({"J": 3, "shape": 1}, ValueError, "at least 2 samples"),
        ({"J": 3, "shape": -5}, ValueError, "shape must be >= 0"),
        ({"J": 3, "shape": (64, 2)}, ValueError, "shape must be an int or a tuple of 1"),
        ({"J": 3, "shape": "64"}, TypeError, "shape must be an int"),
        ({"J": 3, "shape": 64, "Q": 0}, ValueError, "Q should always be >= 1"),
        ({"J": 3, "shape": 64, "Q": (8, 0)}, ValueError, "Q should always be >= 1"),
        ({"J": 3, "shape": 64, "Q": (8, 1, 1)}, ValueError, "Q must be an int or a tuple of 1 to 2"),
        ({"J": 3, "shape": 64, "T": 65}, ValueError, "cannot exceed the signal length"),
        ({"J": 3, "shape": 64, "T": 0}, ValueError, "T must be >= 1"),
        ({"J": 3, "shape": 64, "T": -2}, ValueError, "T must be >= 1"),
        ({"J": 7, "shape": 64}, ValueError, "2\\*\\*J = 128 exceeds the signal length N = 64"),
        ({"J": 3, "shape": 64, "max_order": 3}, ValueError, "max_order must be 1 or 2"),
        ({"J": 3, "shape": 64, "max_order": 0}, ValueError, "max_order must be 1 or 2"),
        ({"J": 3, "shape": 64, "reduction": "median"}, ValueError, "reduction must be 'mean'"),
        ({"J": 3, "shape": 10**30}, ValueError, "shape is out of range"),
        # Documented bounds, checked before anything is allocated.
        ({"J": 3, "shape": 2**22 + 1}, ValueError, "shape must be at most 4194304 samples"),
        ({"J": 3, "shape": 2**62}, ValueError, "shape must be at most 4194304 samples"),
        ({"J": 3, "shape": 64, "Q": 257}, ValueError, "Q must be at most 256"),
        ({"J": 3, "shape": 64, "Q": (8, 2**62)}, ValueError, "Q must be at most 256"),
        ({"J": 41, "shape": 64, "T": 2}, ValueError, "J must be at most 40"),
        ({"J": 2**62, "shape": 64}, ValueError, "J must be at most 40, got 4611686018427387904"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Scattering1D(**kwargs)


def test_the_bounds_themselves_are_accepted():
    S = Scattering1D(J=1, shape=512, Q=(256, 256), T=2)
    assert S.Q == (256, 256)
    out = S(np.ones(512))
    assert out.shape[0] == S.output_size() and np.isfinite(out).all()


@pytest.fixture(scope="module")
def transform():
    return Scattering1D(3, 64, Q=2)


def test_wrong_dtype_is_a_type_error(transform):
    with pytest.raises(TypeError, match="float32 or float64 array, got dtype int64"):
        transform(np.zeros((2, 64), dtype=np.int64))
    with pytest.raises(TypeError, match="complex128"):
        transform(np.zeros(64, dtype=np.complex128))
    with pytest.raises(TypeError, match="must be a numpy array, got list"):
        transform([0.0] * 64)


def test_wrong_length_names_both_lengths(transform):
    with pytest.raises(ValueError, match="65 samples on its last axis.*shape=\\(64,\\)"):
        transform(np.zeros((2, 65)))


def test_zero_dimensional_and_empty_inputs(transform):
    with pytest.raises(ValueError, match="at least one axis"):
        transform(np.array(1.0))
    with pytest.raises(ValueError, match="x is empty"):
        transform(np.zeros((0, 64)))


def test_non_contiguous_input(transform):
    x = np.zeros((2, 128))[:, ::2]
    assert x.shape == (2, 64)
    with pytest.raises(ValueError, match="C-contiguous"):
        transform(x)
    with pytest.raises(ValueError, match="C-contiguous"):
        transform(np.zeros((64, 3)).T)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_input_names_signal_and_sample(transform, bad, dtype):
    x = np.zeros((2, 3, 64), dtype=dtype)
    x[1, 0, 17] = bad
    with pytest.raises(ValueError, match="signal 3 of the batch contains a non-finite value .* at index 17"):
        transform(x)


@pytest.mark.parametrize("threads", [0, -1, 10**6])
def test_bad_thread_count(transform, threads):
    with pytest.raises(ValueError, match="num_threads must be between 1 and"):
        transform(np.zeros(64), num_threads=threads)
    with pytest.raises(TypeError, match="num_threads must be an int"):
        transform(np.zeros(64), num_threads=1.5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(-2, 300),
    j=st.integers(-1, 12),
    q=st.one_of(st.integers(-1, 12), st.tuples(st.integers(0, 8), st.integers(0, 4))),
    t=st.one_of(st.none(), st.integers(-1, 320)),
    max_order=st.integers(0, 3),
    reduction=st.sampled_from(["mean", "sum", "max"]),
    batch=st.lists(st.integers(0, 3), max_size=2),
    dtype=st.sampled_from([np.float32, np.float64, np.int32]),
    length_offset=st.sampled_from([0, 0, 0, 1]),
    poison=st.sampled_from([None, None, None, np.nan, np.inf]),
    seed=st.integers(0, 2**32 - 1),
)
def test_either_right_shape_or_value_or_type_error(
    n, j, q, t, max_order, reduction, batch, dtype, length_offset, poison, seed
):
    try:
        transform = Scattering1D(j, n, Q=q, T=t, max_order=max_order, reduction=reduction)
    except (ValueError, TypeError):
        return
    rng = np.random.default_rng(seed)
    length = transform.shape[0] + length_offset
    x = (rng.standard_normal((*batch, length)) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
    if poison is not None and x.size and dtype != np.int32:
        x.flat[rng.integers(x.size)] = poison
    must_fail = length_offset != 0 or dtype == np.int32 or 0 in batch or (poison is not None)
    if must_fail:
        with pytest.raises((ValueError, TypeError)):
            transform(x)
        return
    out = transform(x)
    assert out.shape == (*batch, transform.output_size(), out.shape[-1])
    assert out.dtype == x.dtype
    assert np.isfinite(out).all()
