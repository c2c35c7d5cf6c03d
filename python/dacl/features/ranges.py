"""Long records, featurized in ranges so that memory does not grow with a record's length.

A record longer than ``chunk_seconds`` is never read whole. Its windows are
partitioned by where they start: range ``k`` owns the windows starting in
``[a_k, b_k)`` (``b_k - a_k`` about ``chunk_seconds``). For each range we read
``[a_k - margin, b_k + window + margin)`` (clipped to the record), segment it as
a record of its own (resampling, zero-phase band-pass, windows, z-score), and
keep the windows whose start falls in ``[a_k, b_k)``:

* ``margin`` (``chunk_margin`` seconds) gives the forward-backward band-pass
  context on both sides, so its start-up transient has died out (to far below
  float32 precision with the default 30 s and a 0.5 Hz high-pass) before any
  kept window begins or after it ends;
* every range starts on a sample that maps onto the window grid (a multiple of
  ``hop`` at the segmentation rate, and an integer sample after resampling), so
  a range's windows are the record's own windows, not shifted copies;
* the first range starts at the record's first sample and the last one ends at
  its last, so both edges (the filter's padding, the zero-padded or reflected
  tail window) are handled exactly as on a whole record.

Memory is one range of samples, its windows and their features; windows go to
the shard as they are made. A record of at most ``chunk_seconds`` is read
whole, which is exactly the short-record path. The record's digest is the
SHA-256 of its ranges' samples in time order (each range's ``(leads, n)``
float64 bytes), so two copies of a long recording share a digest as short ones do.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from dacl.corpus.records import Record, RecordError
from dacl.features.featurizer import PreprocessConfig

#: Largest reduced numerator or denominator of a resampling ratio (the native resampler's bound).
MAX_RATE_FACTOR = 1000


@dataclass(frozen=True)
class Range:
    """Samples ``[read_from, read_to)`` are read; the windows starting in ``[keep_from, keep_to)`` are kept.

    ``offset`` (the output sample of ``read_from``), ``keep_from`` and ``keep_to`` are at the segmentation
    rate, the other bounds at the record's.
    """

    read_from: int
    read_to: int
    offset: int
    keep_from: int
    keep_to: int
    digest_from: int  # record samples [digest_from, digest_to) join the record's digest
    digest_to: int


def rate_ratio(name: str, fs: float, target: float) -> Fraction:
    """``target / fs`` as ``up/down`` (what the native resampler uses); :class:`RecordError` if it has none."""
    ratio = Fraction(target / fs).limit_denominator(MAX_RATE_FACTOR)
    if ratio.numerator > MAX_RATE_FACTOR or abs(float(ratio) - target / fs) > 1e-12 * target / fs:
        raise RecordError(
            name, f"cannot resample {fs:g} Hz to {target:g} Hz: not a ratio of integers <= {MAX_RATE_FACTOR}"
        )
    return ratio


def is_long(n_samples: int, fs: float, config: PreprocessConfig) -> bool:
    """Whether a record is read in ranges (longer than ``chunk_seconds``)."""
    return n_samples > config.chunk_seconds * fs


def plan_ranges(name: str, n_samples: int, fs: float, config: PreprocessConfig) -> list[Range]:
    """The ranges of a long record (see the module docstring)."""
    ratio = Fraction(1) if fs == config.fs else rate_ratio(name, fs, config.fs)
    up, down = ratio.numerator, ratio.denominator
    # A record sample s maps to output sample s·up/down: on the window grid iff s is a multiple of `align`.
    align = down * config.hop // math.gcd(config.hop, up)
    step = _multiple(config.chunk_seconds * fs, align)
    margin = _multiple(config.chunk_margin * fs, align)
    window_in = math.ceil(config.window * down / up) + 1  # a window's span in record samples
    ranges = []
    for a in range(0, n_samples, step):
        b = min(a + step, n_samples)
        last = b == n_samples
        read_from = max(0, a - margin)
        ranges.append(
            Range(
                read_from=read_from,
                read_to=n_samples if last else min(n_samples, b + window_in + margin),
                offset=read_from * up // down,
                keep_from=a * up // down,
                keep_to=np.iinfo(np.int64).max if last else b * up // down,
                digest_from=a,
                digest_to=b,
            )
        )
    return ranges


def _multiple(samples: float, align: int) -> int:
    """The smallest positive multiple of ``align`` that is at least ``samples``."""
    return max(align, math.ceil(samples / align) * align)


class RangeDigest:
    """The SHA-256 of a long record, fed range by range."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, signal: np.ndarray, r: Range) -> None:
        part = signal[:, r.digest_from - r.read_from : r.digest_to - r.read_from]
        self._hash.update(np.ascontiguousarray(part, dtype="<f8").tobytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def kept(starts: np.ndarray, r: Range) -> np.ndarray:
    """Boolean mask of the windows (global starts) a range keeps."""
    return (starts >= r.keep_from) & (starts < r.keep_to)


#: ``read(sampfrom, sampto) -> Record``: a range of the record as the corpus gives it.
ReadRange = Callable[[int, int], Record]
#: ``featurize(record) -> (features (w, L, P, F), starts (w,))`` of a record read as a whole.
Featurize = Callable[[Record], tuple[np.ndarray, np.ndarray]]


class LongRecord:
    """The windows of one long record, range by range (see the module docstring)."""

    def __init__(self, name: str, n_samples: int, fs: float, config: PreprocessConfig) -> None:
        self.name = name
        self.ranges = plan_ranges(name, n_samples, fs, config)
        self.digest = RangeDigest()

    def pieces(self, read: ReadRange, featurize: Featurize) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(features, starts)`` of the windows each range keeps, in time order; ``starts`` are the
        record's own (at the segmentation rate). ``digest`` is complete once every piece was taken."""
        for r in self.ranges:
            record = read(r.read_from, r.read_to)
            if record.n_samples != r.read_to - r.read_from:
                raise RecordError(
                    self.name,
                    f"reading samples {r.read_from}:{r.read_to} gave {record.n_samples}; "
                    "the header's length disagrees with the signal file",
                )
            self.digest.add(record.signal, r)
            features, starts = featurize(record)
            starts = starts + r.offset
            keep = kept(starts, r)
            yield features[keep], starts[keep]
