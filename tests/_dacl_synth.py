"""Synthetic FeatureSets for the DACL tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dacl.io.atomic import write_json
from dacl.features import FeatureSet
from dacl.features.store import FORMAT, write_records_csv


def xor_featureset(
    n_records: int = 160, windows_per_record: int = 2, paths: int = 8, frames: int = 6, seed: int = 0,
    noise: float = 0.3,
) -> FeatureSet:
    """Two classes that no linear probe on the pooled features can separate.

    Each record draws two factors ``a, b ~ N(0, 1)``; its windows are
    ``a * A + b * B + noise`` with fixed patterns A and B, constant over time
    and pointing in different path directions. The label is ``a * b > 0`` (an XOR of
    signs), so the class is a nonlinear function of the features: a linear
    probe on time-pooled features is at chance, while an encoder trained with
    labels can learn it. Records are split 60/20/20 into train/val/test.
    """
    rng = np.random.default_rng(seed)
    # Constant over time: the factors only move the time mean, so std pooling sees only noise.
    pattern_a = np.repeat(rng.normal(size=(paths, 1)), frames, axis=1)
    pattern_b = np.repeat(rng.normal(size=(paths, 1)), frames, axis=1)
    ab = rng.normal(size=(n_records, 2))
    labels = (ab[:, 0] * ab[:, 1] > 0).astype(np.int64)
    record_index = np.repeat(np.arange(n_records), windows_per_record)
    w = len(record_index)
    feats = (
        ab[record_index, 0, None, None] * pattern_a
        + ab[record_index, 1, None, None] * pattern_b
        + noise * rng.normal(size=(w, paths, frames))
    ).astype(np.float32)
    split = np.array(["train"] * n_records, dtype="<U5")
    order = rng.permutation(n_records)
    split[order[int(0.6 * n_records) : int(0.8 * n_records)]] = "val"
    split[order[int(0.8 * n_records) :]] = "test"
    return FeatureSet(
        features=feats,
        record_index=record_index,
        starts=np.tile(np.arange(windows_per_record) * 100, n_records).astype(np.int64),
        record_ids=np.array([f"S{i:05d}" for i in range(n_records)]),
        record_labels=labels,
        record_split=split,
        manifest={"synthetic": "xor"},
    )


def write_dataset(fs: FeatureSet, path: Path, **manifest: object) -> None:
    """A dataset directory in the layout of format 1 (one shard, the split in records.csv), which
    `load_features` still reads; ``manifest`` adds entries."""
    shard = path / "shards" / "000000"
    shard.mkdir(parents=True)
    np.save(shard / "features.npy", fs.features)
    np.save(shard / "record_index.npy", fs.record_index)
    np.save(shard / "starts.npy", fs.starts)
    counts = np.bincount(fs.record_index, minlength=len(fs.record_ids))
    write_records_csv(path, [
        {"record": r, "label": "NA"[lab], "n_windows": int(n), "status": "ok", "split": s}
        for r, lab, n, s in zip(fs.record_ids, fs.record_labels, counts, fs.record_split)
    ])
    write_json(path / "manifest.json", {"format": FORMAT, "format_version": 1, "status": "complete", "n_shards": 1,
                                        **manifest})
