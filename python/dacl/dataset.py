"""A features dataset on disk, and its in-memory view.

``dacl preprocess`` writes a dataset directory (see ``dacl.preprocess`` for the
layout); :func:`load_features` opens it. Training and evaluation see only
:class:`FeatureSet`, so they work the same on the shipped sample, the full
corpus or a synthetic set built in a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: PhysioNet 2017 classes, in the order used for integer labels everywhere.
CLASSES: tuple[str, ...] = ("N", "A", "O", "~")


@dataclass
class FeatureSet:
    """Per-window features plus the record each window came from.

    Attributes:
        features: ``(W, P, F)`` float32 — scattering paths × time frames per window
            (already log-scaled if the manifest says so).
        record_index: ``(W,)`` int64 — row in the per-record arrays below.
        starts: ``(W,)`` int64 — first sample of the window in its record
            (at the segmentation rate).
        record_ids: ``(R,)`` str — record names, e.g. ``"A00001"``.
        record_labels: ``(R,)`` int64 — index into :data:`CLASSES`, ``-1`` if unlabelled.
        record_split: ``(R,)`` str — ``"train"``, ``"val"``, ``"test"`` or ``""`` (unsplit).
        manifest: parameters and provenance written by the preprocessing run.
    """

    features: np.ndarray
    record_index: np.ndarray
    starts: np.ndarray
    record_ids: np.ndarray
    record_labels: np.ndarray
    record_split: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        """``(W,)`` int64 label of each window (its record's label)."""
        return self.record_labels[self.record_index]

    def window_mask(self, split: str) -> np.ndarray:
        """Boolean ``(W,)`` mask of the windows whose record is in ``split``."""
        return self.record_split[self.record_index] == split
