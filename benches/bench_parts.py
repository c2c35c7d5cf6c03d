"""Pieces the preprocessing benchmarks share: kymatio behind the pipeline's scatter interface, a folder
read with ``wfdb.rdrecord`` (the reader the comparisons pit dacl's against), and a corpus replicated K
times (to show that memory does not grow with the corpus).

Imported by the benchmark scripts of this folder (run as ``python benches/NAME.py``, which puts this
folder on the import path).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus.records import Record, RecordError, RecordInfo, signal_sha256


class KymatioScatter:
    """kymatio's numpy Scattering1D behind the pipeline's scatter interface."""

    def __init__(self, J: int, shape: int, Q: int, T: int | None, max_order: int) -> None:
        from kymatio.numpy import Scattering1D

        self._s = Scattering1D(J=J, shape=shape, Q=Q, T=T, max_order=max_order)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._s(x).astype(np.float32)

    def meta(self) -> dict[str, Any]:
        return self._s.meta()


class WfdbCorpus:
    """A folder of WFDB records read with ``wfdb.rdrecord``, with the corpus interface the pipeline uses
    (labels from ``# Dx:`` header comments, lead names as the headers write them, standard leads canonical)."""

    layout, layout_reason, task, vocabulary = "wfdb", "benchmark reader: wfdb.rdrecord", "multi-label", None

    def __init__(self, folder: Path, names: list[str] | None = None) -> None:
        self.folder = folder
        self.names = names if names is not None else sorted(p.stem for p in folder.glob("*.hea"))
        digest = hashlib.sha256("\n".join(self.names).encode()).hexdigest()
        self.fingerprint = {"names_sha256": digest, "reader": "wfdb.rdrecord"}

    def __repr__(self) -> str:
        return f"WfdbCorpus({self.folder}, {len(self.names)} records)"

    def _path(self, name: str) -> str:
        return str(self.folder / name.split("@", 1)[0])

    def info(self, name: str) -> RecordInfo:
        import wfdb

        from dacl.features.leads import canonical

        h = wfdb.rdheader(self._path(name))
        return RecordInfo(name, int(h.sig_len), float(h.fs), tuple(canonical(n) for n in h.sig_name), tuple(h.units))

    def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record:
        import wfdb

        from dacl.features.leads import canonical

        try:
            rec = wfdb.rdrecord(self._path(name), sampfrom=sampfrom, sampto=sampto)
        except Exception as err:  # noqa: BLE001 (a benchmark reader: any failure is this record's)
            raise RecordError(name, f"unreadable ({type(err).__name__})") from err
        signal = np.ascontiguousarray(rec.p_signal.T)
        comments = dict(c.split(":", 1) for c in rec.comments if ":" in c)
        labels = tuple(c.strip() for c in comments.get("Dx", "").split(",") if c.strip())
        return Record(
            name,
            signal,
            tuple(canonical(n) for n in rec.sig_name),
            float(rec.fs),
            labels,
            signal_sha256(signal),
            {},
            sampfrom,
        )

    def annotations(self, name: str) -> None:
        return None


def replicated(corpus: Any, k: int) -> Any:
    """The corpus iterated ``k`` times under names ``NAME@i`` (same signals, same labels)."""
    if k == 1:
        return corpus

    class Replicated:
        def __getattr__(self, attr: str) -> Any:
            return getattr(corpus, attr)

        names = [f"{n}@{i}" for i in range(k) for n in corpus.names]
        fingerprint = {**corpus.fingerprint, "replicate": str(k)}

        def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record:
            rec = corpus.read(name.rsplit("@", 1)[0], min_samples, sampfrom, sampto)
            return dataclasses.replace(rec, name=name)

        def info(self, name: str) -> Any:
            return corpus.info(name.rsplit("@", 1)[0])

        def annotations(self, name: str) -> Any:
            return corpus.annotations(name.rsplit("@", 1)[0])

    return Replicated()
