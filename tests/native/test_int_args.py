"""One rule for integer arguments across every native entry point (rust/python/args.rs).

ints and numpy integers are accepted; bool and float are a TypeError; an int
beyond range is a ValueError; ``num_threads`` is None or 1..256 everywhere.
"""

import numpy as np
import pytest

from dacl import NoiseSchedule, Scattering1D, segment, standard_normal

SIGNAL = np.sin(np.linspace(0, 60, 1000))


def _scatter(num_threads=None, J=3):
    return Scattering1D(J=J, shape=256).scattering(np.zeros(256), num_threads=num_threads)


def _segment(num_threads=None, window=200):
    return segment([SIGNAL], 100.0, window, 100, num_threads=num_threads)[0]


def _q_sample(num_threads=None, seed=1):
    sched = NoiseSchedule("linear", 100)
    return sched.q_sample(np.ones((4, 3)), np.array([1, 2, 3, 4]), seed=seed, num_threads=num_threads)[0]


ENTRY_POINTS = {"scattering": _scatter, "segment": _segment, "q_sample": _q_sample}


@pytest.mark.parametrize("name", ENTRY_POINTS)
@pytest.mark.parametrize("threads", [0, -1, 257, 10**30])
def test_num_threads_out_of_range_is_value_error(name, threads):
    with pytest.raises(ValueError, match="num_threads"):
        ENTRY_POINTS[name](num_threads=threads)


@pytest.mark.parametrize("name", ENTRY_POINTS)
@pytest.mark.parametrize("threads", [True, 1.0, "2"])
def test_num_threads_non_int_is_type_error(name, threads):
    with pytest.raises(TypeError, match="num_threads must be an int, got"):
        ENTRY_POINTS[name](num_threads=threads)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_numpy_int_num_threads_gives_the_same_numbers(name):
    fn = ENTRY_POINTS[name]
    np.testing.assert_array_equal(fn(num_threads=np.int64(2)), fn(num_threads=1))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda v: _scatter(J=v), "J must be an int, got"),
        (lambda v: _segment(window=v), "window must be an int, got"),
        (lambda v: _q_sample(seed=v), "seed must be an int, got"),
        (lambda v: NoiseSchedule("linear", v), "timesteps must be an int, got"),
    ],
)
@pytest.mark.parametrize("value", [True, 3.0])
def test_bool_and_float_are_type_errors(call, match, value):
    with pytest.raises(TypeError, match=match):
        call(value)


def test_numpy_ints_are_accepted_as_sizes():
    np.testing.assert_array_equal(_scatter(J=np.int32(3)), _scatter(J=3))
    np.testing.assert_array_equal(_segment(window=np.uint16(200)), _segment(window=200))
    assert len(NoiseSchedule("linear", np.int64(50))) == 50


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda v: Scattering1D(J=3, shape=v), "shape must be at most"),
        (lambda v: Scattering1D(J=v, shape=256), "J must be at most"),
        (lambda v: Scattering1D(J=3, shape=256, Q=v), "Q must be at most"),
        (lambda v: NoiseSchedule("linear", v), "timesteps must be in"),
        (lambda v: standard_normal(v, seed=0), "at most 1099511627776 standard normals"),
        (lambda v: standard_normal((v, v), seed=0), "the requested shape is too large"),
    ],
)
@pytest.mark.parametrize("value", [2**62, 2**63 - 1])
def test_sizes_far_beyond_the_bounds_are_value_errors(call, match, value):
    # In range for an int argument, far out of range for a size: refused before any allocation.
    with pytest.raises(ValueError, match=match):
        call(value)
