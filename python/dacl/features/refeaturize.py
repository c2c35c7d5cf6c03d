"""The dataset's own featurisation, again: re-read records of the corpus a dataset was made from and featurise
them (or noisy copies of them) exactly as ``dacl preprocess`` did.

The robustness curves (:mod:`dacl.probe.robustness`) and the signal-space views
(:mod:`dacl.views.signal`) both need it: the parameters come from the dataset's
manifest, the code is :func:`dacl.features.featurizer.process_chunk` (resampling,
band-pass, windows, z-score, Rust scattering, log scaling, lead by lead), so
there is no second copy of the featuriser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dacl.corpus import Record
from dacl.features.featurizer import ChunkResult, PreprocessConfig, default_scatter, process_chunk, record_row
from dacl.features.leads import select_leads
from dacl.features.source import open_source

#: ``featurize(signals) -> (features (W, L, P, F), record_index (W,))``, with
#: ``record_index`` pointing into ``signals`` (each ``(L, n)``, or ``(n,)`` for one lead).
Featurize = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]
#: ``read(names) -> (signals, fs)``: raw records (the dataset's leads, ``(L, n)``) at one sampling rate.
ReadSignals = Callable[[Sequence[str]], tuple[list[np.ndarray], float]]


def dataset_config(manifest: dict[str, Any]) -> PreprocessConfig:
    """The :class:`~dacl.features.featurizer.PreprocessConfig` a dataset was made with, from its manifest."""
    from dataclasses import fields

    params = manifest.get("params")
    if not isinstance(params, dict):
        raise ValueError("the dataset manifest has no preprocessing 'params'; cannot featurise like the dataset")
    known = {f.name for f in fields(PreprocessConfig)}
    return PreprocessConfig(**{k: v for k, v in params.items() if k in known})


def dataset_chunk_featurizer(
    manifest: dict[str, Any], fs: float, num_threads: int | None = None
) -> Callable[[list[np.ndarray]], ChunkResult]:
    """``featurize(signals) -> ChunkResult``: the dataset's own featurisation of recordings at ``fs`` Hz.

    Rebuilds :class:`dacl.features.featurizer.PreprocessConfig` from the manifest's
    ``params`` and runs :func:`dacl.features.featurizer.process_chunk` — the very code
    that made the dataset (resampling, band-pass, windows, z-score, scattering,
    log scaling, lead by lead) — on recordings of the dataset's leads. The result's
    ``record_index`` points into ``signals``; ``starts`` are the windows' first samples;
    ``rows`` say which recordings failed and why.
    """
    config = dataset_config(manifest)
    scatter = default_scatter(config, num_threads)
    order = np.asarray(manifest["scattering"]["order"])
    leads = dataset_leads(manifest)

    def featurize(signals: list[np.ndarray]) -> ChunkResult:
        rows = [record_row(i, f"#{i}") for i in range(len(signals))]
        records = [
            Record(f"#{i}", np.atleast_2d(np.asarray(x, dtype=np.float64)), leads, fs, (), "")
            for i, x in enumerate(signals)
        ]
        return process_chunk(rows, records, config, scatter, order, num_threads, n_leads=len(leads))

    return featurize


def dataset_featurizer(manifest: dict[str, Any], fs: float, num_threads: int | None = None) -> Featurize:
    """A :data:`Featurize` that reproduces the dataset's own featurisation (:func:`dataset_chunk_featurizer`)."""
    featurize_chunk = dataset_chunk_featurizer(manifest, fs, num_threads)

    def featurize(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        chunk = featurize_chunk(signals)
        return chunk.features, chunk.record_index

    return featurize


def dataset_leads(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The leads a dataset keeps (one lead, ``I``, for datasets from before leads)."""
    return tuple(manifest.get("leads") or ("I",))


def manifest_corpus(manifest: dict[str, Any]) -> str:
    for key in ("corpus", "corpus_path", "source"):
        value = manifest.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            return value["path"]
    raise ValueError("the dataset manifest records no corpus path")


def corpus_reader(
    path: str, expected_inputs: dict[str, str] | None = None, manifest: dict[str, Any] | None = None
) -> ReadSignals:
    """Reads test records (the dataset's leads, ``(L, n)``) from the corpus the dataset was made from, opened
    with the dataset's layout and label options."""

    def read(names: Sequence[str]) -> tuple[list[np.ndarray], float]:
        made_with = manifest or {}
        config = dataset_config(made_with) if isinstance(made_with.get("params"), dict) else PreprocessConfig()
        corpus = open_source(path, dataclasses.replace(config, partial_labels=True))
        # The labels and record list must be the dataset's (a zip and its extracted
        # folder share these checksums; the zip's own checksum is not compared).
        if expected_inputs:
            differ = [
                k
                for k in ("reference_sha256", "records_sha256", "names_sha256")
                if k in expected_inputs and k in corpus.fingerprint and expected_inputs[k] != corpus.fingerprint[k]
            ]
            if differ:
                raise ValueError(f"corpus {path} is not the one the dataset was made from ({', '.join(differ)} differ)")
        leads = dataset_leads(manifest or {})
        records = []
        for name in names:
            try:
                records.append(select_leads(corpus.read(name), leads))
            except ValueError as err:
                raise ValueError(f"cannot re-read records from {path}: {err}") from None
        rates = {r.fs for r in records}
        if len(rates) != 1:
            raise ValueError(f"test records have mixed sampling rates {sorted(rates)}")
        return [r.signal for r in records], rates.pop()

    return read
