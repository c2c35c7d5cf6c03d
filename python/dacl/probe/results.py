"""What ``dacl evaluate`` writes: ``metrics.json`` and the test records' embeddings."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from dacl._native import __version__
from dacl.features import FeatureSet
from dacl.io.atomic import atomic_output, write_json
from dacl.probe.linear import EvalResult, split_sizes
from dacl.probe.selection import scored_split

#: What the records of a results document were scored on (see :func:`dacl.probe.selection.scored_split`).
SCORED_ON = {
    "test": "test-split records",
    "val": "val-split records, for model selection: the test records were removed before embedding, and the "
    "'test' counts and columns of this document are the val records",
}


def split_info(manifest: dict[str, Any]) -> dict[str, Any]:
    """The split's provenance (method, seed, fractions, counts) of a loaded dataset.

    :func:`dacl.features.load_features` puts it into ``manifest["split"]`` (from the
    dataset's ``split.json``, or from the manifest itself for a format-1 dataset).
    """
    info = manifest.get("split")
    if isinstance(info, dict):
        return info
    return {k: v for k, v in manifest.items() if k.startswith("split")}


#: How single-label (CinC 2017) records are scored, as metrics.json states it.
SINGLE_LABEL_PROTOCOL = {
    "unit": "record (mean of window probabilities)",
    "probe_fit_on": "train-split windows of labelled records",
    "scored_on": "test-split records",
    "ci": "percentile bootstrap over test records; resamples missing a class are redrawn",
    "auroc_af": "AF vs rest, score = P(A)",
    "auroc_macro_ovr": "unweighted mean of one-vs-rest AUROCs over classes present in the test split",
    "f1_challenge": "PhysioNet/CinC 2017: mean of F1(N), F1(A), F1(O) over argmax predictions",
}
#: How multi-label records are scored (the PTB-XL benchmark protocol, Strodthoff et al. 2021).
MULTI_LABEL_PROTOCOL = {
    "unit": "record (mean of window probabilities, per label)",
    "probe_fit_on": "train-split windows, one logistic regression per label with positive and negative windows",
    "scored_on": "test-split records",
    "ci": "percentile bootstrap over test records; a label without positives or negatives in a resample is "
    "left out of that resample",
    "auroc_macro": "unweighted mean of the per-label AUROCs over labels with positive and negative test records",
    "auroc_per_label": "AUROC of each such label, with its bootstrap CI",
}


def results_document(
    results: list[EvalResult], features: FeatureSet, features_path: str | None = None
) -> dict[str, Any]:
    """The ``metrics.json`` document for a list of results on one dataset."""
    n_records, n_windows = split_sizes(features)
    scored = scored_split(features.manifest)
    return {
        "dacl_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": features_path,
        "split": split_info(features.manifest),
        "scored_split": scored,
        "n_records": n_records,
        "n_windows": n_windows,
        "task": features.task,
        "leads": list(features.leads),
        "protocol": {
            **(MULTI_LABEL_PROTOCOL if any(r.protocol == "per-label" for r in results) else SINGLE_LABEL_PROTOCOL),
            "scored_on": SCORED_ON[scored],
        },
        "methods": [r.to_dict() for r in results],
    }


def write_results(
    out_dir: str | os.PathLike[str],
    results: list[EvalResult],
    features: FeatureSet,
    features_path: str | None = None,
    robustness: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``metrics.json`` and one ``embeddings_<i>.npz`` per method into ``out_dir``."""
    out = Path(out_dir)
    doc = results_document(results, features, features_path)
    for i, r in enumerate(results):
        name = f"embeddings_{i}.npz"
        with atomic_output(out / name) as f:
            np.savez(
                f,
                record_ids=r.test_record_ids.astype(str),
                labels=r.test_labels,
                probs=r.test_probs,
                embeddings=r.test_embeddings,
            )
        doc["methods"][i]["test_records_file"] = name
    if robustness is not None:
        doc["robustness"] = robustness
    write_json(out / "metrics.json", doc, strict=True)
    return out / "metrics.json"
