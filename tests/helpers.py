"""Shared test helpers (not a test module): paths, the one FeatureSet factory and its data recipes,
stand-in embedders, an ECG-like signal.

Fixtures live in ``conftest.py``; tests import these plain functions with ``from helpers import ...``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from dacl.features import FeatureSet
from dacl.features.store import FORMAT, write_records_csv
from dacl.io.atomic import write_json
from dacl.training.precision import Precision

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CONFIGS = ROOT / "configs"
EXPERIMENTS, TOOLS = ROOT / "experiments", ROOT / "tools"
TINY, DIFFAUG_TINY = CONFIGS / "tiny.toml", CONFIGS / "diffaug-tiny.toml"


def load_script(path: Path) -> ModuleType:
    """A script outside the package (an experiment's or a tool's), imported as a module by its path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ FeatureSets


def featureset(features: np.ndarray, record_index: np.ndarray, labels: np.ndarray, split: np.ndarray, *,
               ids: Sequence[str] | None = None, starts: np.ndarray | None = None,
               manifest: dict | None = None) -> FeatureSet:
    """A FeatureSet from per-window features and per-record labels and splits (the one factory).

    Records are named ``R0000``, ``R0001``, ... unless ``ids`` are given; windows start at 0.
    """
    n_records = len(labels)
    return FeatureSet(
        features=features,
        record_index=record_index,
        starts=np.zeros(len(record_index), dtype=np.int64) if starts is None else starts,
        record_ids=np.array([f"R{i:04d}" for i in range(n_records)] if ids is None else list(ids)),
        record_labels=np.asarray(labels).astype(np.int64),
        record_split=split,
        manifest={} if manifest is None else manifest,
    )


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
    return featureset(feats, record_index, labels, split, ids=[f"S{i:05d}" for i in range(n_records)],
                      starts=np.tile(np.arange(windows_per_record) * 100, n_records).astype(np.int64),
                      manifest={"synthetic": "xor"})


def four_class_featureset(
    n_records: int = 120, separation: float = 1.5, seed: int = 0, informative: bool = True, paths: int = 6,
    frames: int = 8,
) -> FeatureSet:
    """Records of all four classes, 1-4 windows each, class-shifted path means, shuffled 40/20/40 split."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_records) % 4
    splits = np.array(["train", "train", "val", "test", "test"] * (n_records // 5 + 1))[:n_records]
    rng.shuffle(splits)
    n_win = rng.integers(1, 5, size=n_records)
    record_index = np.repeat(np.arange(n_records), n_win)
    centres = rng.normal(size=(4, paths)) * separation
    feats = rng.normal(size=(record_index.size, paths, frames)).astype(np.float32)
    if informative:
        feats += centres[labels[record_index]][:, :, None].astype(np.float32)
    return featureset(feats, record_index, labels, splits,
                      manifest={"split": {"seed": 3, "fractions": [0.4, 0.2, 0.4]}})


def three_profile_featureset(n_records: int = 24, windows_per_record: int = 8, paths: int = 6,
                             frames: int = 5) -> FeatureSet:
    """Records from 3 classes; each class has its own mean scattering profile. Records 0-15 train, the rest test."""
    rng = np.random.default_rng(0)
    labels = np.arange(n_records) % 3
    profiles = rng.normal(0.0, 1.0, size=(3, paths))
    record_index = np.repeat(np.arange(n_records), windows_per_record)
    base = profiles[labels[record_index]][:, :, None]
    features = (base + 0.3 * rng.normal(size=(len(record_index), paths, frames))).astype(np.float32)
    split = np.array(["train" if i < 16 else "test" for i in range(n_records)])
    return featureset(features, record_index, labels, split, ids=[f"R{i:03d}" for i in range(n_records)])


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
        for r, lab, n, s in zip(fs.record_ids, fs.record_labels, counts, fs.record_split, strict=True)
    ])
    write_json(path / "manifest.json", {"format": FORMAT, "format_version": 1, "status": "complete", "n_shards": 1,
                                        **manifest})


def evaluate_against_baseline(tmp_path: Path, monkeypatch, *extra: str, features: FeatureSet | None = None) -> Path:
    """`dacl evaluate RUN --baseline-scattering` on synthetic features (``four_class_featureset()`` unless
    ``features`` are given) with a mean-pool 'run'; the output folder. ``extra`` arguments go to ``dacl evaluate``."""
    from dacl import cli
    from dacl.embedding import embedder
    from dacl.features import featureset as dataset

    fs = four_class_featureset() if features is None else features
    monkeypatch.setattr(dataset, "load_features", lambda path: fs)
    monkeypatch.setattr(embedder, "load_embedder", lambda run_dir, device="cpu": MeanEmbedder())
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text("")
    out = tmp_path / "report"
    rc = cli.main(["evaluate", str(run_dir), "--features", "DS", "--baseline-scattering", "--out", str(out),
                   "--n-boot", "50", *extra])
    assert rc == 0
    return out


# ------------------------------------------------------------------ stand-ins


class MeanEmbedder:
    """Trivial frozen embedder for tests: the time mean of each path."""

    name = "mean"

    def embed(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, dtype=np.float32).mean(axis=2)


class ScaledOnCPU(Precision):
    """fp16-style loss scaling on the CPU (without autocast): the path of a GPU without bf16.

    The scale doubles after every finite step, so the state differs from a fresh scaler's."""

    def __init__(self, device: torch.device, enabled: bool) -> None:
        super().__init__(device, enabled)
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**20, growth_interval=1)


def ecg_like(seconds: float = 30.0, seed: int = 0, fs: float = 300.0, offset: float = 0.0) -> np.ndarray:
    """Synthetic ECG stand-in: ~70 bpm QRS spikes, 0.3 Hz baseline wander, noise, plus a DC ``offset``
    (an offset is not signal power: corruptions measure the signal by its variance)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    beats = np.zeros(n)
    for centre in np.arange(0.3, n / fs, 0.85):
        beats += 1.2 * np.exp(-(((t - centre) / 0.012) ** 2)) - 0.2 * np.exp(-(((t - centre - 0.25) / 0.05) ** 2))
    return offset + beats + 0.15 * np.sin(2 * np.pi * 0.3 * t) + 0.02 * rng.standard_normal(n)
