"""Record-level train/val/test split of a features dataset.

Windows of one record never straddle sides (the split is made on records),
and records are assigned in groups: byte-identical signals (same ``sha256``
in ``records.csv``; PhysioNet 2017 has two such pairs) and the records of one
patient (the ``patient`` column, where the layout knows patients) stay
together. Records that failed preprocessing (no windows) get the empty split
``""``. Which rule assigns the groups (:mod:`dacl.features.stratify`):

1. ``assign=FILE``: an explicit ``record,split`` table;
2. folds: PTB-XL's ``strat_fold`` (the ``fold`` column) — by default (``"auto"``)
   whenever every usable record has a fold, 1-8 train, 9 val, 10 test; or the
   folds given (``"1-8/9/10"``); ``"none"`` ignores folds;
3. otherwise ``fractions`` with ``seed``: stratified by label for single-label
   data (the split dacl has always made: the same seed, the same CinC 2017 split),
   iterative stratification (Sechidis et al. 2011) for multi-label data.

The split is one file of the dataset, ``split.json``, replaced atomically (so
an interrupted split leaves the previous one whole): the method, seed,
fractions or folds, the per-side counts, and ``assignment``, each record's side.
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
    split_labels,
    split_provenance,
)
from dacl.features.stratify import (
    DEFAULT_FOLDS,
    SPLITS,
    by_folds,
    from_assignment,
    groups_of,
    iterative_stratification,
    parse_folds,
    read_assignment,
    stratified_single_label,
)
from dacl.io.atomic import write_json
from dacl.io.lock import WriterLock

DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.1, 0.2)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(train, val, test)`` fractions: three non-negative numbers summing to 1."""
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3:
        raise ValueError(f"fractions: expected three numbers (train val test), got {len(fr)}")
    if any(not np.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions: need three non-negative numbers summing to 1, got {fr}")
    return fr


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
    *,
    vocabulary: Sequence[str] = CLASSES,
    patients: Sequence[str] | None = None,
) -> list[str]:
    """Assign each record of single-label data to ``"train"``/``"val"``/``"test"`` (``""`` if not eligible),
    stratified by label (:func:`dacl.features.stratify.stratified_single_label`).

    Args:
        names, labels, sha256: per record; ``labels`` are label codes or ``""``.
        fractions: ``(train, val, test)``, summing to 1.
        seed: the only source of randomness.
        eligible: records that may be assigned (default: all).
        vocabulary: the order in which labels are stratified (then other codes, sorted).
        patients: per record, its patient (``""``: unknown); one patient's records stay together.
    """
    fr = check_fractions(fractions)
    if not (len(labels) == len(sha256) == len(names)):
        raise ValueError("names, labels and sha256 must have the same length")
    ok = [True] * len(names) if eligible is None else list(eligible)
    groups = groups_of(names, sha256, patients, ok)
    return _sides(groups, stratified_single_label(groups, labels, vocabulary, fr, seed), len(names))


def _sides(groups: list[list[int]], side_of_group: dict[int, str], n: int) -> list[str]:
    out = [""] * n
    for g, members in enumerate(groups):
        for i in members:
            out[i] = side_of_group[g]
    return out


def split_dataset(
    path: str | Path,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    *,
    folds: str = "auto",
    assign: str | None = None,
) -> dict[str, Any]:
    """Split a preprocessed dataset in place (under its writer lock); returns the split's provenance."""
    fr, seed = check_fractions(fractions), check_seed(seed)
    path = Path(os.path.abspath(path))
    if not path.exists() and not retired_path(path).exists():  # (else a swap to finish, under the lock)
        raise FileNotFoundError(f"dataset {path} not found")
    if assign is not None and not Path(assign).is_file():
        raise FileNotFoundError(f"--assign: {assign} not found")
    with WriterLock(path, "dataset"):
        finish_swap(path)
        return write_split(path, fr, seed, folds=folds, assign=assign)


def write_split(
    path: Path, fractions: Sequence[float], seed: int, *, folds: str = "auto", assign: str | None = None
) -> dict[str, Any]:
    """Assign the records of the dataset at ``path`` and write ``split.json`` atomically.

    The caller holds the dataset's writer lock (:func:`split_dataset`, ``dacl preprocess``).
    """
    fr, seed = check_fractions(fractions), check_seed(seed)
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise ValueError(f'{path} is not a dacl dataset (its manifest.json has no "format": "{FORMAT}")')
    if manifest.get("status") != "complete":
        raise ValueError(f"{path}: preprocessing is not complete; rerun `dacl preprocess` to finish it first")
    rows = read_records_csv(path)
    names = [r["record"] for r in rows]
    eligible = [r["status"] == "ok" and int(r["n_windows"]) > 0 for r in rows]
    patients = [r.get("patient") or "" for r in rows]
    groups = groups_of(names, [r["sha256"] for r in rows], patients if any(patients) else None, eligible)
    rule, side_of_group = _rule(rows, groups, eligible, manifest, fr, seed, folds, assign)
    sides = _sides(groups, side_of_group, len(rows))
    doc = {
        "format": SPLIT_FORMAT,
        **rule,
        **_counts(rows, sides, manifest.get("task") == "multi-label"),
        "assignment": dict(zip(names, sides, strict=True)),
    }
    write_json(path / SPLIT_JSON, doc, strict=True)  # the one commit point of a split
    return split_provenance(doc)


def _rule(
    rows: list[dict[str, str]],
    groups: list[list[int]],
    eligible: list[bool],
    manifest: dict[str, Any],
    fractions: tuple[float, float, float],
    seed: int,
    folds: str,
    assign: str | None,
) -> tuple[dict[str, Any], dict[int, str]]:
    """The split's provenance and the side of each group, by the first rule that applies (module docstring)."""
    names = [r["record"] for r in rows]
    together = (
        "byte-identical signals (sha256)"
        + (" and a patient's records" if any(r.get("patient") for r in rows) else "")
        + " kept together"
    )
    if assign is not None:
        table = read_assignment(assign)
        sides = from_assignment(groups, names, table, names, assign)
        return {
            "method": f"record-level, from the table {Path(assign).name}, {together}",
            "assigned_by": assign,
            "seed": None,
            "fractions": None,
        }, sides
    fold_col = [r.get("fold") or "" for r in rows]
    usable_folds = [f for f, ok in zip(fold_col, eligible, strict=True) if ok]
    if folds != "none" and usable_folds and (folds != "auto" or all(usable_folds)):
        spec = DEFAULT_FOLDS if folds == "auto" else parse_folds(folds)
        sides = by_folds(groups, names, fold_col, spec)
        return {
            "method": f"record-level, by the given folds, {together}",
            "seed": None,
            "fractions": None,
            "folds": {s: sorted(spec[s]) for s in SPLITS},
        }, sides
    if manifest.get("task") == "multi-label":
        label_sets = [split_labels(r["label"]) for r in rows]
        sides = iterative_stratification(groups, label_sets, fractions, seed)
        method = f"record-level, iterative stratification of the labels (Sechidis et al. 2011), {together}"
    else:
        vocabulary = manifest.get("vocabulary") or CLASSES
        sides = stratified_single_label(groups, [r["label"] for r in rows], vocabulary, fractions, seed)
        method = f"record-level, stratified by label, {together}"
    return {"method": method, "seed": seed, "fractions": list(fractions)}, sides


def _counts(rows: list[dict[str, str]], sides: list[str], multi_label: bool) -> dict[str, Any]:
    """Per side, the records of each label (a multi-label record counts once for each of its labels), the
    records in all, and how many records are unassigned."""
    counts: dict[str, dict[str, int]] = {s: defaultdict(int) for s in SPLITS}
    sizes = dict.fromkeys(SPLITS, 0)
    for row, side in zip(rows, sides, strict=True):
        if not side:
            continue
        sizes[side] += 1
        codes = split_labels(row["label"]) if multi_label else [row["label"]]
        for code in codes or [""]:
            counts[side][code or "unlabelled"] += 1
    return {
        "records": {s: dict(sorted(c.items())) for s, c in counts.items()},
        "sizes": sizes,
        "unassigned": sum(1 for s in sides if not s),
    }


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.7,0.1,0.2"`` -> ``(0.7, 0.1, 0.2)``, checked (:func:`check_fractions`)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"not three comma-separated numbers: {text!r}") from None
    return check_fractions(values)


def check_folds(text: str) -> str:
    """A ``folds`` setting: ``"auto"``, ``"none"`` or ``TRAIN/VAL/TEST`` folds (checked)."""
    if text not in ("auto", "none"):
        parse_folds(text)
    return text
