"""Window labels of annotated records: the rhythm that covers most of a window.

A corpus may annotate a long record with rhythm intervals (``.atr`` rhythm
changes such as ``(AFIB`` / ``(N``, turned into ``(start, end, label)``
intervals in record samples, end exclusive: :meth:`dacl.corpus.Corpus.annotations`).
A window then gets the label whose intervals overlap it the most, measured in
seconds; on a tie, the label that comes first within the window. A window no
interval touches gets no label (``""``). Windows of records without annotations get no
window label; their record's labels apply (:class:`dacl.features.featureset.FeatureSet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _triple(interval: Any) -> tuple[float, float, str]:
    """``(start, end, label)`` of an interval given as an object with those attributes or as a tuple."""
    if hasattr(interval, "start"):
        return float(interval.start), float(interval.end), str(interval.label)
    start, end, label = interval
    return float(start), float(end), str(label)


def window_labels(starts: np.ndarray, window: int, fs: float, record_fs: float, intervals: Sequence[Any]) -> np.ndarray:
    """The label of each window (``starts`` at the segmentation rate ``fs``, ``window`` samples long) given the
    record's rhythm ``intervals`` (at ``record_fs``); ``""`` where no interval overlaps the window."""
    starts = np.asarray(starts, dtype=np.float64)
    out = np.full(len(starts), "", dtype=object)
    triples = sorted((_triple(iv) for iv in intervals), key=lambda t: t[0])
    triples = [t for t in triples if t[1] > t[0]]
    if not triples or not len(starts):
        return out.astype(str)
    names = sorted({t[2] for t in triples})
    begin = np.array([t[0] for t in triples]) / record_fs
    end = np.array([t[1] for t in triples]) / record_fs
    code = np.array([names.index(t[2]) for t in triples])
    w_begin, w_end = starts / fs, (starts + window) / fs
    cover = np.zeros((len(starts), len(names)))
    first = np.full((len(starts), len(names)), np.inf)  # where each label first shows in the window
    for lo in range(0, len(starts), 4096):  # bounds the (windows, intervals) overlap matrix
        sl = slice(lo, lo + 4096)
        overlap = np.minimum(w_end[sl, None], end[None, :]) - np.maximum(w_begin[sl, None], begin[None, :])
        shows = np.where(overlap > 0, np.maximum(w_begin[sl, None], begin[None, :]), np.inf)
        for k in range(len(names)):
            mine = code == k
            cover[sl, k] = np.clip(overlap[:, mine], 0.0, None).sum(axis=1)
            first[sl, k] = shows[:, mine].min(axis=1)
    most = cover.max(axis=1)
    best = np.where(cover == most[:, None], first, np.inf).argmin(axis=1)
    labelled = most > 0
    out[labelled] = np.array(names, dtype=object)[best[labelled]]
    return out.astype(str)
