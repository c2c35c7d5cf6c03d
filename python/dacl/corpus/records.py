"""One record of a corpus, what can be wrong with one, and content digests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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

    def __reduce__(self) -> tuple[type[RecordError], tuple[str, str]]:
        # Rebuilt from (name, problem), so the error crosses a process boundary (a worker of an executor) intact.
        return type(self), (self.name, self.problem)


@dataclass(frozen=True)
class Record:
    """One record (or a range of one): its leads' physical signals and what the corpus knows about it.

    Attributes:
        name: record name as the corpus lists it (e.g. ``"A00001"``, ``"records500/00000/00001_hr"``).
        signal: ``(n_leads, n_samples)`` float64 physical signal (mV for ECG leads); invalid samples are
            NaN when the caller asked to keep them (``meta["invalid"]`` counts them per lead).
        leads: lead names, one per row of ``signal`` (canonical: ``I, II, III, aVR, aVL,
            aVF, V1..V6``; other names as written).
        fs: sampling frequency in Hz.
        labels: record-level label codes (``("A",)`` for a CinC 2017 record, SNOMED CT or SCP codes);
            ``()`` if unlabelled.
        sha256: hex SHA-256 of ``signal`` as little-endian float64 bytes, so
            byte-identical recordings share a digest whatever the file format.
        meta: what else the corpus knows (patient, age, sex, source database, ...), JSON-able.
        start: first sample of ``signal`` within the record (a range of a long record).
    """

    name: str
    signal: np.ndarray
    leads: tuple[str, ...]
    fs: float
    labels: tuple[str, ...]
    sha256: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    start: int = 0

    @property
    def label(self) -> str | None:
        """The record's one label, or ``None`` when it has none or several."""
        return self.labels[0] if len(self.labels) == 1 else None

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[-1])


@dataclass(frozen=True)
class RecordInfo:
    """What a record's header says, without reading its samples.

    Attributes:
        name: record name as the corpus lists it.
        n_samples: samples per lead in the whole record.
        fs: sampling frequency in Hz.
        leads: the leads :meth:`dacl.corpus.Corpus.read` returns, in its order.
        units: each of those leads' units as written in the header.
    """

    name: str
    n_samples: int
    fs: float
    leads: tuple[str, ...]
    units: tuple[str, ...]


@dataclass(frozen=True)
class Interval:
    """Samples ``start:end`` of a record carry the rhythm ``label`` (``"AFIB"``, ``"N"``, ... from ``(AFIB``)."""

    start: int
    end: int
    label: str


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


def validate_signal(name: str, signal: np.ndarray, fs: float, min_samples: int, allow_nan: bool = False) -> None:
    """Refuse an empty ``(n_leads, n_samples)`` signal, one with NaN/inf samples (NaN allowed with
    ``allow_nan``), or one shorter than ``min_samples``."""
    if signal.ndim != 2 or signal.size == 0:
        raise RecordError(name, "signal is empty")
    bad = np.isinf(signal) if allow_nan else ~np.isfinite(signal)
    if bad.any():
        lead, first = (int(i[0]) for i in np.nonzero(bad))
        kind = "NaN (missing samples)" if np.isnan(signal[lead, first]) else "inf"
        where = f"first at sample {first}" if signal.shape[0] == 1 else f"first in lead {lead} at sample {first}"
        raise RecordError(name, f"signal contains {int(bad.sum())} non-finite values ({kind}, {where})")
    n = signal.shape[1]
    if n < min_samples:
        raise RecordError(name, f"signal is too short: {n} samples ({n / fs:.2f} s), need at least {min_samples}")
