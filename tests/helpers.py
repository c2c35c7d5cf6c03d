"""Shared test helpers (not a test module): paths, the one FeatureSet factory and its data recipes,
stand-in embedders, an ECG-like signal.

Fixtures live in ``conftest.py``; tests import these plain functions with ``from helpers import ...``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from dacl.corpus.records import Record, RecordError, RecordInfo, signal_sha256
from dacl.features import FeatureSet
from dacl.features.leads import STANDARD_LEADS
from dacl.features.store import FORMAT, write_records_csv
from dacl.io.atomic import write_json
from dacl.training.precision import Precision

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CONFIGS = ROOT / "configs"
EXPERIMENTS, TOOLS = ROOT / "experiments", ROOT / "tools"
TINY, DIFFAUG_TINY = CONFIGS / "tiny.toml", CONFIGS / "diffaug-tiny.toml"
#: Small, quick `dacl preprocess` settings: one shard for the 40 sample records, no split.
FAST_ARGS = [
    "--window",
    "512",
    "--hop",
    "512",
    "-J",
    "4",
    "-Q",
    "2",
    "--chunk-records",
    "40",
    "--no-progress",
    "--no-split",
]


def load_script(path: Path) -> ModuleType:
    """A script outside the package (an experiment's or a tool's), imported as a module by its path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ FeatureSets


def featureset(
    features: np.ndarray,
    record_index: np.ndarray,
    labels: np.ndarray,
    split: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    starts: np.ndarray | None = None,
    manifest: dict | None = None,
) -> FeatureSet:
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
    n_records: int = 160,
    windows_per_record: int = 2,
    paths: int = 8,
    frames: int = 6,
    seed: int = 0,
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
    return featureset(
        feats,
        record_index,
        labels,
        split,
        ids=[f"S{i:05d}" for i in range(n_records)],
        starts=np.tile(np.arange(windows_per_record) * 100, n_records).astype(np.int64),
        manifest={"synthetic": "xor"},
    )


def four_class_featureset(
    n_records: int = 120,
    separation: float = 1.5,
    seed: int = 0,
    informative: bool = True,
    paths: int = 6,
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
    return featureset(
        feats, record_index, labels, splits, manifest={"split": {"seed": 3, "fractions": [0.4, 0.2, 0.4]}}
    )


def three_profile_featureset(
    n_records: int = 24, windows_per_record: int = 8, paths: int = 6, frames: int = 5
) -> FeatureSet:
    """Records from 3 classes; each class has its own mean scattering profile. Records 0-15 train, the rest test."""
    rng = np.random.default_rng(0)
    labels = np.arange(n_records) % 3
    profiles = rng.normal(0.0, 1.0, size=(3, paths))
    record_index = np.repeat(np.arange(n_records), windows_per_record)
    base = profiles[labels[record_index]][:, :, None]
    features = (base + 0.3 * rng.normal(size=(len(record_index), paths, frames))).astype(np.float32)
    split = np.array(["train" if i < 16 else "test" for i in range(n_records)])
    return featureset(features, record_index, labels, split, ids=[f"R{i:03d}" for i in range(n_records)])


def multilabel_featureset(
    n_records: int = 120, n_leads: int = 3, paths: int = 6, frames: int = 5, seed: int = 0, informative: bool = True
) -> FeatureSet:
    """Multi-lead records with several labels each (5 codes, one rare); each present label shifts the path
    means of one lead (label k: lead k % L), 1-3 windows per record, records split 60/20/20."""
    rng = np.random.default_rng(seed)
    codes = ("164889003", "426783006", "59118001", "270492004", "284470004")
    targets = rng.random((n_records, len(codes))) < np.array([0.4, 0.35, 0.3, 0.25, 0.12])
    n_win = rng.integers(1, 4, size=n_records)
    record_index = np.repeat(np.arange(n_records), n_win)
    feats = rng.normal(size=(len(record_index), n_leads, paths, frames)).astype(np.float32)
    if informative:
        shift = rng.normal(size=(len(codes), paths)) * 1.5
        for k in range(len(codes)):
            has = targets[record_index, k]
            feats[has, k % n_leads] += shift[k][:, None].astype(np.float32)
    split = np.array(["train"] * n_records, dtype="<U5")
    order = rng.permutation(n_records)
    split[order[int(0.6 * n_records) : int(0.8 * n_records)]] = "val"
    split[order[int(0.8 * n_records) :]] = "test"
    single = np.where(targets.sum(axis=1) == 1, targets.argmax(axis=1), -1)
    return FeatureSet(
        feats,
        record_index,
        np.zeros(len(record_index), np.int64),
        np.array([f"M{i:04d}" for i in range(n_records)]),
        single,
        split,
        {"task": "multi-label", "split": {"seed": 0, "fractions": [0.6, 0.2, 0.2]}},
        leads=("I", "II", "V1", "V2", "V3")[:n_leads],
        vocabulary=codes,
        record_targets=targets,
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
    write_records_csv(
        path,
        [
            {"record": r, "label": "NA"[lab], "n_windows": int(n), "status": "ok", "split": s}
            for r, lab, n, s in zip(fs.record_ids, fs.record_labels, counts, fs.record_split, strict=True)
        ],
    )
    write_json(
        path / "manifest.json", {"format": FORMAT, "format_version": 1, "status": "complete", "n_shards": 1, **manifest}
    )


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
    rc = cli.main(
        [
            "evaluate",
            str(run_dir),
            "--features",
            "DS",
            "--baseline-scattering",
            "--out",
            str(out),
            "--n-boot",
            "50",
            *extra,
        ]
    )
    assert rc == 0
    return out


# ------------------------------------------------------------------ stand-ins


class MeanEmbedder:
    """Trivial frozen embedder for tests: the time mean of each path of each lead."""

    name = "mean"

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        return x.mean(axis=-1).reshape(len(x), -1)


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


# ------------------------------------------------------------------ corpora in memory


def _shared_data() -> Path:
    """``../shared/data`` beside the repository; from a git worktree, beside its main checkout."""
    here = ROOT.parent / "shared" / "data"
    git = ROOT / ".git"
    if here.is_dir() or not git.is_file():
        return here
    gitdir = Path(git.read_text().split("gitdir:", 1)[-1].strip())  # a worktree: "gitdir: MAIN/.git/worktrees/NAME"
    main_checkout = gitdir.parents[2] if gitdir.parent.name == "worktrees" else gitdir.parent
    return main_checkout.parent / "shared" / "data"


#: Real samples of other corpora (tests may read them; the package never does); tests skip where they are absent.
SHARED_DATA = _shared_data()
CINC2021_SAMPLE = SHARED_DATA / "cinc2021-sample"


class FakeCorpus:
    """A corpus with the interface of :class:`dacl.corpus.Corpus` (names, read, read_many, info, annotations,
    vocabulary, task, layout, fingerprint) over records held in memory; ``reads`` logs every
    ``(name, sampfrom, sampto)`` read, so tests can see that long records are read in ranges."""

    def __init__(
        self,
        records: Sequence[Record],
        *,
        task: str = "multi-label",
        vocabulary: Sequence[str] | None = None,
        layout: str = "wfdb",
        annotations: dict[str, list] | None = None,
        units: str = "mV",
    ) -> None:
        self._records = {r.name: r for r in records}
        self.names = [r.name for r in records]
        self.task, self.layout, self.layout_reason = task, layout, "a corpus built in a test"
        self.vocabulary = None if vocabulary is None else tuple(vocabulary)
        self._annotations = annotations or {}
        self._units = units
        digest = hashlib.sha256("".join(r.sha256 for r in records).encode()).hexdigest()
        self.fingerprint = {"records_sha256": digest}
        self.reads: list[tuple[str, int, int | None]] = []

    def __repr__(self) -> str:
        return f"FakeCorpus({len(self.names)} records)"

    def _record(self, name: str) -> Record:
        if name not in self._records:
            raise RecordError(name, "not in the corpus")
        return self._records[name]

    def info(self, name: str) -> RecordInfo:
        r = self._record(name)
        return RecordInfo(name, r.n_samples, r.fs, r.leads, (self._units,) * len(r.leads))

    def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record:
        r = self._record(name)
        self.reads.append((name, sampfrom, sampto))
        signal = r.signal[:, sampfrom:sampto]
        if signal.shape[1] < min_samples:
            raise RecordError(name, f"signal is too short: {signal.shape[1]} samples")
        return dataclasses.replace(r, signal=signal, sha256=signal_sha256(signal), start=sampfrom)

    def read_many(self, names: Sequence[str], min_samples: int = 1, threads: int = 4) -> list[Record | RecordError]:
        out: list[Record | RecordError] = []
        for name in names:
            try:
                out.append(self.read(name, min_samples))
            except RecordError as err:
                out.append(err)
        return out

    def annotations(self, name: str) -> list | None:
        return self._annotations.get(name)


def make_record(
    name: str, signal: np.ndarray, leads: Sequence[str], fs: float, labels: Sequence[str] = (), **meta: object
) -> Record:
    signal = np.asarray(signal, dtype=np.float64)
    return Record(name, signal, tuple(leads), float(fs), tuple(labels), signal_sha256(signal), dict(meta))


def cinc2021_records(limit: int | None = None) -> list[Record]:
    """The real 12-lead CinC 2021 sample, read with ``wfdb.rdrecord`` (labels: the ``# Dx:`` SNOMED codes)."""
    import wfdb

    from dacl.features.leads import canonical

    records = []
    for hea in sorted(CINC2021_SAMPLE.glob("*.hea"))[:limit]:
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        comments = dict(c.split(":", 1) for c in rec.comments if ":" in c)
        codes = [c.strip() for c in comments.get("Dx", "").split(",") if c.strip()]
        records.append(
            make_record(
                hea.stem,
                rec.p_signal.T,
                [canonical(n) for n in rec.sig_name],
                rec.fs,
                codes,
                age=comments.get("Age", "").strip(),
                sex=comments.get("Sex", "").strip(),
            )
        )
    return records


def ecg_leads(seconds: float, fs: float, n_leads: int, seed: int = 0) -> np.ndarray:
    """``(n_leads, n)`` ECG-like signals: lead ``i`` is :func:`ecg_like` scaled by ``1 + i/4`` with its own noise."""
    return np.stack([(1 + i / 4) * ecg_like(seconds, seed=seed * 100 + i, fs=fs) for i in range(n_leads)])


def ptbxl_like_records(n_records: int = 40, fs: float = 100.0, seed: int = 0) -> list[Record]:
    """Synthetic 12-lead 10-s records in the PTB-XL manner: SCP superclass labels (some records with two),
    patients with one to three records each, ``strat_fold`` 1-10 in ``meta["fold"]``."""
    rng = np.random.default_rng(seed)
    classes = ["NORM", "MI", "STTC", "CD", "HYP"]
    records, patient = [], 0
    while len(records) < n_records:
        patient += 1
        fold = int(rng.integers(1, 11))
        for _ in range(min(int(rng.integers(1, 4)), n_records - len(records))):
            k = len(records)
            labels = [classes[k % 5]] + ([classes[(k + 2) % 5]] if k % 3 == 0 else [])
            signal = ecg_leads(10.0, fs, 12, seed=seed * 1000 + k) * (1 + 0.2 * (k % 5))
            records.append(
                make_record(f"{k + 1:05d}_lr", signal, STANDARD_LEADS, fs, labels, patient=str(patient), fold=fold)
            )
    return records
