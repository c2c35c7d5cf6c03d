"""Model selection on the validation split: the probe of ``dacl evaluate``, scored on val records.

Hyperparameters are chosen on the val split only; the test split is scored once per
final configuration. :func:`validation_view` is the dataset the probe sees for model
selection: the test records are removed *before anything is embedded*, and the val
records take the place of the scored split. Every later step (probe fitted on train
windows, record pooling, bootstrap, 5-NN, report) then runs unchanged on the view and
cannot reach a test record. ``dacl evaluate --on val`` applies it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dacl.features import FeatureSet

#: Manifest key of a view saying which split its "test" records really are.
SCORED_SPLIT = "scored_split"


def validation_view(features: FeatureSet) -> FeatureSet:
    """``features`` without its test records, its val records playing the "test" role.

    Windows keep their order and records their relative order (record indices are
    renumbered), so scores on the view equal those of scoring the val records directly.
    The view's manifest records ``scored_split = "val"`` (see :func:`scored_split`).
    """
    split = np.asarray(features.record_split).astype(str)
    if not (split == "val").any():
        raise ValueError(
            "the dataset has no val records to select models on; split it with val > 0 "
            "(dacl split --fractions TRAIN VAL TEST)"
        )
    keep_record = split != "test"
    record_index = np.asarray(features.record_index)
    keep_window = keep_record[record_index]
    new_index = np.cumsum(keep_record) - 1
    return dataclasses.replace(
        features,
        features=features.features[keep_window],
        record_index=new_index[record_index[keep_window]],
        starts=np.asarray(features.starts)[keep_window],
        record_ids=np.asarray(features.record_ids)[keep_record],
        record_labels=np.asarray(features.record_labels)[keep_record],
        record_split=np.where(split == "val", "test", split)[keep_record],
        record_targets=np.asarray(features.record_targets)[keep_record],
        window_labels=None if features.window_labels is None else features.window_labels[keep_window],
        manifest={**features.manifest, SCORED_SPLIT: "val"},
    )


def scored_split(manifest: dict) -> str:
    """The split whose records a dataset's "test" records are: ``"val"`` for a :func:`validation_view`."""
    return str(manifest.get(SCORED_SPLIT, "test"))
