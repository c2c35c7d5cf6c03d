"""Hostile sizes at every native entry point never kill the interpreter.

Each size a caller passes is checked before anything is allocated, and memory the system refuses is a
``MemoryError``: no call aborts the process ("memory allocation of N bytes failed", SIGABRT) or raises
pyo3's ``PanicException``, which derives from ``BaseException`` and so escapes ``except Exception``.

The calls run in a child process whose address space is limited (``RLIMIT_AS``, set before numpy and
dacl are imported), so an allocation the code fails to check makes the child abort instead of
exhausting the machine; the child's return code tells which happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

#: Address space of the child: room for Python, numpy and dacl (~0.2 GiB) and every legitimate call
#: below, far less than any of the hostile requests.
CHILD_MEMORY = 3 << 30

_PRELUDE = f"""
import resource
resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY}, {CHILD_MEMORY}))
"""


def run_limited(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (with ``args`` as ``sys.argv[1:]``) in a child Python under the memory limit."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _died(proc: subprocess.CompletedProcess[str]) -> str:
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    return f"child died ({how}); stderr ends with:\n{proc.stderr[-3000:]}"


# ---------------------------------------------------------------- the reported cases, one by one

#: call -> (exception type, part of its message). All in one child; it reports each outcome as JSON.
CASES: dict[str, tuple[str, str]] = {
    "Scattering1D(J=30, shape=2**40)": ("ValueError", "shape must be at most 4194304"),
    "Scattering1D(J=8, shape=2**26)": ("ValueError", "shape must be at most 4194304"),
    "Scattering1D(J=8, shape=10_000_000, Q=8)": ("ValueError", "shape must be at most 4194304"),
    "Scattering1D(J=6, shape=512, Q=2**40)": ("ValueError", "Q must be at most 256"),
    "Scattering1D(J=6, shape=512, Q=(8, 2**40))": ("ValueError", "Q must be at most 256"),
    # Within the shape bound, but the filter bank of Q=8 at N_padded = 2**23 would take ~4.5 GiB.
    "Scattering1D(J=8, shape=2**22, Q=8)": ("ValueError", "need a filter bank of"),
    # A valid plan whose output (4 GiB for 32 MB of input) does not fit: refused, not aborted.
    "Scattering1D(J=1, shape=512, Q=(256, 1), T=2)(np.zeros((8000, 512)))": (
        "MemoryError",
        "for the scattering output (8000 signals × 256 paths × 256 samples)",
    ),
    "segment([np.zeros(5000)], 300.0, 2**40, 1, tail='pad')": (
        "MemoryError",
        "cannot allocate 8.0 TiB for the windows",
    ),
    "segment([np.zeros(300000)], 300.0, 3000, 1)": ("MemoryError", "cannot allocate 6.6 GiB for the windows"),
    "segment([np.zeros(5000)], 300.0, 2**62, 1, tail='pad')": (
        "ValueError",
        "cannot allocate the windows (1 × 4611686018427387904 values)",
    ),
    "segment([np.zeros(5000)], 300.0, 2**63 - 1, 1, tail='reflect')": ("ValueError", "exceed the address space"),
    "segment([np.zeros(5000)], 300.0, 10, 2**62, tail='pad')": ("ok", ""),
    "segment_flat(np.zeros(5000), np.array([0, 5000]), 300.0, 2**40, 1, tail='pad')": ("MemoryError", "8.0 TiB"),
    "NoiseSchedule('cosine', 1000).q_sample(np.zeros((1, 64)), np.zeros((1, 10**8), np.int64), seed=0)": (
        "MemoryError",
        "q_sample's outputs (1 × 100000000 × 64",
    ),
    # A huge t that takes no memory: broadcast, so it must be copied, and the copy is refused.
    "NoiseSchedule('cosine', 1000).q_sample(np.zeros((1, 1)), np.broadcast_to(np.int64(0), (1, 2**40)), seed=0)": (
        "MemoryError",
        "a contiguous copy of t",
    ),
    "NoiseSchedule('linear', 2**62)": ("ValueError", "timesteps must be in [1, 10000000]"),
    "standard_normal(2**40, 0)": ("MemoryError", "cannot allocate 8.0 TiB for 1099511627776 standard normals"),
    "standard_normal(2**40 + 1, 0)": ("ValueError", "at most 1099511627776 standard normals"),
    "standard_normal((2**32, 2**32), 0)": ("ValueError", "the requested shape is too large"),
    "linear_betas(2**62)": ("ValueError", "timesteps must be in"),
    # Empty, but with strides that overflow (numpy: "array is too big"); these crashed numpy (SIGSEGV).
    "NoiseSchedule('cosine', 10).q_sample(np.zeros((0, 2**31 + 1), np.float32), np.zeros((0, 2**31 - 1), np.int64), seed=0)": (
        "ValueError",
        "q_sample's outputs of shape [0, 2147483647, 2147483649] would span more than the address space",
    ),
    "standard_normal((0, 2**31 + 1, 2**31 - 1), 0)": ("ValueError", "would span more than the address space"),
}

_CASES_CHILD = """
import json, sys
import numpy as np
from dacl._native import *

for call in json.loads(sys.argv[1]):
    print("calling", call, file=sys.stderr, flush=True)
    try:
        eval(call)
        outcome = {"call": call, "type": "ok", "message": ""}
    except Exception as err:
        outcome = {"call": call, "type": type(err).__name__, "message": str(err)}
    print(json.dumps(outcome), flush=True)
"""


@pytest.fixture(scope="module")
def case_outcomes() -> dict[str, dict[str, str]]:
    """Each case's outcome. A child that dies is blamed for the case it was running, and a new child
    runs the cases after it, so each case is judged on its own (one child in all when none dies)."""
    outcomes: dict[str, dict[str, str]] = {}
    todo = list(CASES)
    while todo:
        proc = run_limited(_CASES_CHILD, json.dumps(todo))
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                outcome = json.loads(line)
                outcomes[outcome["call"]] = outcome
        todo = [call for call in todo if call not in outcomes]
        if todo:
            outcomes[todo[0]] = {"call": todo[0], "type": "died", "message": _died(proc)}
            todo = todo[1:]
    return outcomes


@pytest.mark.parametrize("call", list(CASES), ids=list(CASES))
def test_reported_case_raises_instead_of_aborting(case_outcomes, call):
    kind, fragment = CASES[call]
    got = case_outcomes[call]
    assert got["type"] == kind and fragment in got["message"], got


# ---------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    "args, fragment",
    [(["--window", "2147483648"], "shape must be at most"), (["-Q", "1000000"], "Q must be at most")],
)
def test_preprocess_cli_reports_oversized_requests_in_one_line(tmp_path, args, fragment):
    code = """
    import runpy, sys
    sys.argv = ["dacl", *sys.argv[1:]]
    runpy.run_module("dacl", run_name="__main__")
    """
    proc = run_limited(code, "preprocess", "--sample", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode == 2, _died(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- properties with huge sizes

_PROPERTIES_CHILD = """
import sys
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from dacl._native import (
    NoiseSchedule, Scattering1D, cosine_betas, forward_noise, linear_betas, segment, segment_flat, sigmoid_betas,
    standard_normal,
)

EXPECTED = (ValueError, TypeError, MemoryError)
# Sizes: a few small ones (valid or just invalid) and huge ones up to past 2**63. None between 2**6
# and 2**31, where valid requests would do real (slow) work.
small = st.integers(-3, 40)
huge = st.one_of(
    st.integers(2**31, 2**62),
    st.sampled_from([2**k + d for k in (31, 32, 40, 48, 56, 62, 63) for d in (-1, 0, 1)]),
)
size = st.one_of(small, huge)
run = settings(max_examples=int(sys.argv[1]), deadline=None, database=None,
               suppress_health_check=list(HealthCheck))


def show(value):
    if isinstance(value, np.ndarray):
        return f"ndarray{value.shape}:{value.dtype}"
    if isinstance(value, list):
        return "[" + ", ".join(map(show, value)) + "]"
    return repr(value)


def call(fn, *args, **kwargs):
    # The last line before an abort names the culprit.
    shown = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    print("calling", getattr(fn, "__name__", repr(fn)), *shown, file=sys.stderr, flush=True)
    try:
        return fn(*args, **kwargs)
    except EXPECTED:
        return None


@run
@given(j=st.one_of(st.integers(0, 6), huge), n=st.one_of(st.integers(2, 64), huge),
       q=st.one_of(st.integers(1, 16), huge, st.tuples(st.integers(1, 16) | huge, st.integers(1, 4) | huge)),
       t=st.one_of(st.none(), st.integers(1, 64), huge),
       batch=st.lists(st.one_of(st.integers(0, 3), huge), max_size=3),
       dtype=st.sampled_from([np.float32, np.float64]))
def scattering(j, n, q, t, batch, dtype):
    S = call(Scattering1D, j, n, Q=q, T=t)
    if S is None:
        return
    try:  # a view of any batch shape (numpy refuses views beyond 2**63 bytes)
        x = np.broadcast_to(np.ones(1, dtype), (*batch, n))
    except ValueError:
        return
    if x.size <= 10**5:
        x = np.ascontiguousarray(x)
    call(S, x)


@run
@given(n=st.integers(0, 3000), window=size, hop=size, tail=st.sampled_from(["drop", "pad", "reflect"]),
       target=st.sampled_from([None, 250.0, 600.0]), zscore=st.booleans(), flat=st.booleans())
def segmentation(n, window, hop, tail, target, zscore, flat):
    x = np.sin(np.arange(n) / 7.0)
    kw = dict(tail=tail, target_fs=target, zscore=zscore)
    if flat:
        call(segment_flat, x, np.array([0, n]), 300.0, window, hop, **kw)
    else:
        call(segment, [x, x[: n // 2]], 300.0, window, hop, **kw)


@run
@given(timesteps=size, b=size, d=size, k=st.one_of(st.none(), size), contiguous=st.booleans(),
       kind=st.sampled_from(["linear", "cosine", "sigmoid"]))
def schedules(timesteps, b, d, k, contiguous, kind):
    for fn in (linear_betas, cosine_betas, sigmoid_betas):
        call(fn, timesteps)
    sched = call(NoiseSchedule, kind, timesteps)
    if sched is None:
        sched = NoiseSchedule(kind, 10)
    # Huge arrays that take no memory: broadcast views (not C-contiguous, so copied or refused).
    # numpy itself refuses views of more than 2**63 bytes.
    b, d = max(b, 0), max(d, 0)
    try:
        t = np.broadcast_to(np.int64(1), (b,) if k is None else (b, max(k, 0)))
        z0 = np.broadcast_to(np.float32(0.5), (b, d))
    except ValueError:
        return
    if contiguous and t.size <= 10**6:
        t = np.ascontiguousarray(t)
    if z0.size <= 10**6:
        z0 = np.ascontiguousarray(z0)
    call(sched.q_sample, z0, t, seed=0)
    abar = np.broadcast_to(np.float64(0.5), (b,))
    call(forward_noise, z0, abar if b > 10**6 else np.ascontiguousarray(abar), 0)


@run
@given(shape=st.one_of(size, st.lists(size, max_size=4).map(tuple)), offset=st.integers(0, 2**64 - 1))
def normals(shape, offset):
    call(standard_normal, shape, 0, offset)


for prop in (scattering, segmentation, schedules, normals):
    prop()
print("all properties held")
"""


def test_huge_sizes_at_every_entry_point_raise_only_value_type_or_memory_errors():
    proc = run_limited(_PROPERTIES_CHILD, "150")
    assert proc.returncode == 0 and "all properties held" in proc.stdout, _died(proc)
