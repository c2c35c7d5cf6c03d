"""One record of a corpus, what can be wrong with one, and content digests."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

#: Longest problem text of a :class:`RecordError` (it lands in records.csv and the manifest).
MAX_PROBLEM_CHARS = 300


class RecordError(ValueError):
    """A record that cannot be used; ``str(err)`` names the record and the problem."""

    def __init__(self, name: str, problem: str) -> None:
        if len(problem) > MAX_PROBLEM_CHARS:
            problem = problem[: MAX_PROBLEM_CHARS - 3] + "..."
        super().__init__(f"record {name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class Record:
    """One single-lead record.

    Attributes:
        name: record name as listed in ``RECORDS`` (e.g. ``"A00001"``).
        signal: ``(n,)`` float64 physical signal (mV for the challenge data).
        fs: sampling frequency in Hz.
        label: class letter from ``REFERENCE.csv`` or ``None``.
        sha256: hex SHA-256 of ``signal`` as little-endian float64 bytes, so
            byte-identical recordings share a digest whatever the file format.
    """

    name: str
    signal: np.ndarray
    fs: float
    label: str | None
    sha256: str


def signal_sha256(signal: np.ndarray) -> str:
    """SHA-256 of a signal's little-endian float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(signal, dtype="<f8").tobytes()).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_signal(name: str, signal: np.ndarray, fs: float, min_samples: int) -> None:
    """Refuse an empty signal, one with NaN/inf samples, or one shorter than ``min_samples``."""
    if signal.size == 0:
        raise RecordError(name, "signal is empty")
    bad = ~np.isfinite(signal)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kind = "NaN (missing samples)" if np.isnan(signal[first]) else "inf"
        raise RecordError(name, f"signal contains {int(bad.sum())} non-finite values ({kind}, first at sample {first})")
    if signal.size < min_samples:
        raise RecordError(
            name, f"signal is too short: {signal.size} samples ({signal.size / fs:.2f} s), need at least {min_samples}"
        )
