"""Pieces the preprocessing benchmarks share: kymatio behind the pipeline's scatter interface, and a
corpus replicated K times (to show that memory does not grow with the corpus).

Imported by the benchmark scripts of this folder (run as ``python benches/NAME.py``, which puts this
folder on the import path).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dacl.corpus.records import Record


class KymatioScatter:
    """kymatio's numpy Scattering1D behind the pipeline's scatter interface."""

    def __init__(self, J: int, shape: int, Q: int, T: int | None, max_order: int) -> None:
        from kymatio.numpy import Scattering1D

        self._s = Scattering1D(J=J, shape=shape, Q=Q, T=T, max_order=max_order)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._s(x).astype(np.float32)

    def meta(self) -> dict[str, Any]:
        return self._s.meta()


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
