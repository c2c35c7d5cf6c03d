"""Record-level stratified train/val/test split of a features dataset.

Windows of one record never straddle sides (the split is made on records),
and records whose signals are byte-identical (same ``sha256`` in
``records.csv``; PhysioNet 2017 has two such pairs) are kept together: they
form one *group*, and groups are what gets assigned. Within each label
(``N``, ``A``, ``O``, ``~``, then unlabelled records) the groups are sorted by
name, shuffled with ``numpy.random.default_rng(seed)`` and cut at the
cumulative fractions, so every class is spread over the sides in proportion
and the same seed always gives the same split. Records that failed
preprocessing (no windows) get the empty split ``""``.

The split is one file of the dataset, ``split.json``, replaced atomically (so
an interrupted split leaves the previous one whole): the method, seed,
fractions and per-side counts, and ``assignment``, each record's side.
:func:`dacl.features.featureset.load_features` turns it into ``FeatureSet.record_split``
and puts the rest (the provenance) into ``FeatureSet.manifest["split"]``.
Datasets of format 1 kept the split in records.csv and the manifest; they are
still read, and splitting one again writes ``split.json``, which then rules.
Splitting takes the dataset's writer lock (:class:`dacl.io.lock.WriterLock`).
"""

from __future__ import annotations

import numbers
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus.cinc2017 import CLASSES
from dacl.features.store import (
    FORMAT,
    SPLIT_FORMAT,
    SPLIT_JSON,
    finish_swap,
    read_manifest,
    read_records_csv,
    retired_path,
    split_provenance,
)
from dacl.io.atomic import write_json
from dacl.io.lock import WriterLock

SPLITS: tuple[str, str, str] = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.1, 0.2)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(train, val, test)`` fractions: three non-negative numbers summing to 1."""
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3:
        raise ValueError(f"fractions: expected three numbers (train val test), got {len(fr)}")
    if any(not np.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions: need three non-negative numbers summing to 1, got {fr}")
    return fr  # type: ignore[return-value]


def check_seed(seed: Any) -> int:
    """A split seed: a non-negative integer (what ``numpy.random.default_rng`` accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def assign_splits(
    names: Sequence[str],
    labels: Sequence[str],
    sha256: Sequence[str],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    eligible: Sequence[bool] | None = None,
) -> list[str]:
    """Assign each record to ``"train"``/``"val"``/``"test"`` (``""`` if not eligible).

    Args:
        names, labels, sha256: per record; ``labels`` are class letters or ``""``.
        fractions: ``(train, val, test)``, summing to 1.
        seed: the only source of randomness.
        eligible: records that may be assigned (default: all).

    A group of identical signals takes the label of its first record (by name);
    all its members go to one side.
    """
    fr = check_fractions(fractions)
    n = len(names)
    if not (len(labels) == len(sha256) == n):
        raise ValueError("names, labels and sha256 must have the same length")
    ok = [True] * n if eligible is None else list(eligible)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        if ok[i]:
            groups[sha256[i] or f"record:{names[i]}"].append(i)
    by_label: dict[str, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        members.sort(key=lambda i: names[i])
        by_label[labels[members[0]]].append(members)

    rng = np.random.default_rng(seed)
    out = [""] * n
    strata = [c for c in CLASSES if c in by_label] + sorted(k for k in by_label if k not in CLASSES)
    for label in strata:
        members_list = sorted(by_label[label], key=lambda m: names[m[0]])
        order = rng.permutation(len(members_list))
        k = len(members_list)
        cut_train = int(round(fr[0] * k))
        cut_val = int(round((fr[0] + fr[1]) * k))
        for rank, g in enumerate(order):
            side = "train" if rank < cut_train else "val" if rank < cut_val else "test"
            for i in members_list[g]:
                out[i] = side
    return out


def split_dataset(path: str | Path, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> dict[str, Any]:
    """Split a preprocessed dataset in place (under its writer lock); returns the split's provenance."""
    fr, seed = check_fractions(fractions), check_seed(seed)
    path = Path(os.path.abspath(path))
    if not path.exists() and not retired_path(path).exists():  # (else a swap to finish, under the lock)
        raise FileNotFoundError(f"dataset {path} not found")
    with WriterLock(path, "dataset"):
        finish_swap(path)
        return write_split(path, fr, seed)


def write_split(path: Path, fractions: Sequence[float], seed: int) -> dict[str, Any]:
    """Assign the records of the dataset at ``path`` and write ``split.json`` atomically.

    The caller holds the dataset's writer lock (:func:`split_dataset`, ``dacl preprocess``).
    """
    fr, seed = check_fractions(fractions), check_seed(seed)
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a dacl dataset (its manifest.json has no \"format\": \"{FORMAT}\")")
    if manifest.get("status") != "complete":
        raise ValueError(f"{path}: preprocessing is not complete; rerun `dacl preprocess` to finish it first")
    rows = read_records_csv(path)
    sides = assign_splits(
        [r["record"] for r in rows],
        [r["label"] for r in rows],
        [r["sha256"] for r in rows],
        fr,
        seed,
        eligible=[r["status"] == "ok" and int(r["n_windows"]) > 0 for r in rows],
    )
    counts: dict[str, dict[str, int]] = {s: defaultdict(int) for s in SPLITS}  # type: ignore[misc]
    for row, side in zip(rows, sides):
        if side:
            counts[side][row["label"] or "unlabelled"] += 1
    doc = {
        "format": SPLIT_FORMAT,
        "method": "record-level, stratified by label, byte-identical signals (sha256) kept together",
        "seed": seed,
        "fractions": list(fr),
        "records": {s: dict(sorted(c.items())) for s, c in counts.items()},
        "unassigned": sum(1 for s in sides if not s),
        "assignment": {row["record"]: side for row, side in zip(rows, sides)},
    }
    write_json(path / SPLIT_JSON, doc, strict=True)  # the one commit point of a split
    return split_provenance(doc)


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.7,0.1,0.2"`` -> ``(0.7, 0.1, 0.2)``, checked (:func:`check_fractions`)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"not three comma-separated numbers: {text!r}") from None
    return check_fractions(values)
