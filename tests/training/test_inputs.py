"""The train/val vectors: contextualised by index a chunk at a time (the same numbers as one call), standardised
on disk and read back a batch at a time, removed when training ends."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY, multilabel_featureset, xor_featureset

from dacl.features.context import ContextConfig, contextualise
from dacl.latent.scalers import Standardiser
from dacl.training import train
from dacl.training.config import load_config
from dacl.training.inputs import INPUTS_DIR, WindowVectors, contextualised_blocks, prepare_inputs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class ReadLog:
    """A features array that records how many windows each read asks for."""

    def __init__(self, features: np.ndarray) -> None:
        self.features, self.reads = features, []
        self.shape, self.dtype, self.ndim = features.shape, features.dtype, features.ndim

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        rows = self.features[index]
        self.reads.append(len(rows))
        return rows


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
@pytest.mark.parametrize("make", [xor_featureset, multilabel_featureset])
def test_contextualised_blocks_equal_one_call_and_read_a_chunk_at_a_time(make, chunk: int) -> None:
    fs = make()
    config = ContextConfig(chunk=chunk)
    mask = fs.window_mask("train")
    log = ReadLog(np.asarray(fs.features))
    got = np.concatenate(list(contextualised_blocks(dataclasses.replace(fs, features=log), mask, config)))
    want = contextualise(np.asarray(fs.features[mask]), config)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert max(log.reads) <= chunk and sum(log.reads) == mask.sum()


@pytest.mark.parametrize("chunk", [5, 4096])
def test_prepared_vectors_are_the_standardised_vectors_of_one_pass_and_stay_on_disk(tmp_path: Path, chunk) -> None:
    fs = xor_featureset()
    config = load_config(TINY).replace(context={"chunk": chunk})
    inputs = prepare_inputs(config, fs, torch.device("cpu"), tmp_path / "inputs")
    # What the trainers held in memory before: one contextualise call per split, z-scored with train statistics.
    x_train = contextualise(np.asarray(fs.features[fs.window_mask("train")]), config.context)
    x_val = contextualise(np.asarray(fs.features[fs.window_mask("val")]), config.context)
    want = Standardiser.fit(x_train)
    np.testing.assert_array_equal(inputs.standardiser.mean, want.mean)
    np.testing.assert_array_equal(inputs.standardiser.std, want.std)
    assert isinstance(inputs.x_train, WindowVectors) and inputs.x_train.shape == x_train.shape
    order = torch.tensor([7, 0, 7, len(x_train) - 1, 3])  # any order, repeats
    assert torch.equal(inputs.x_train[order], torch.from_numpy(want.transform(x_train)[order.numpy()]))
    batches = list(inputs.x_val.batches(size=16))
    assert all(len(rows) <= 16 for _, rows in batches)
    assert torch.equal(torch.cat([rows for _, rows in batches]), torch.from_numpy(want.transform(x_val)))
    assert torch.equal(torch.cat([index for index, _ in batches]), torch.arange(len(x_val)))
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == ["train.npy", "val.npy"]
    inputs.remove()
    assert not (tmp_path / "inputs").exists()


def test_a_split_without_windows_has_no_vectors(tmp_path: Path) -> None:
    fs = xor_featureset()
    fs = dataclasses.replace(fs, record_split=np.where(fs.record_split == "val", "train", fs.record_split))
    inputs = prepare_inputs(load_config(TINY), fs, torch.device("cpu"), tmp_path / "inputs")
    assert len(inputs.x_val) == 0 and list(inputs.x_val.batches()) == []


@pytest.mark.parametrize("method", ["dacl", "dae"])
def test_training_reads_a_batch_at_a_time_and_removes_the_vectors(tmp_path: Path, monkeypatch, method) -> None:
    """No step, val loss or encoding pass holds a whole split: every read is at most one batch of rows."""
    reads: list[int] = []
    read = WindowVectors.__getitem__

    def logged(self: WindowVectors, index: torch.Tensor) -> torch.Tensor:
        reads.append(len(index))
        return read(self, index)

    monkeypatch.setattr(WindowVectors, "__getitem__", logged)
    fs = xor_featureset(n_records=400)
    config = load_config(TINY).replace(train={"method": method, "device": "cpu"})
    monkeypatch.setattr("dacl.training.inputs.PASS_BATCH", 64)  # smaller than the splits: whole passes batch too
    run = train(config, fs, tmp_path / "run", progress=False)
    n_val = int(fs.window_mask("val").sum())
    assert n_val > 64 and reads and max(reads) <= 64  # tiny's batch is 32; passes read 64 rows at a time
    assert not (run / INPUTS_DIR).exists()


def test_a_failed_run_removes_its_vectors_and_a_refused_one_writes_none(tmp_path: Path, monkeypatch) -> None:
    fs = xor_featureset()
    config = load_config(TINY).replace(train={"device": "cpu"})

    def fail(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr("dacl.training.contrastive.StageLoop.fit", fail)
    with pytest.raises(RuntimeError, match="stop"):
        train(config, fs, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / INPUTS_DIR).exists()
    monkeypatch.undo()
    run = train(config, fs, tmp_path / "done", progress=False)
    with pytest.raises(FileExistsError):
        train(config, fs, run, progress=False)  # a second run into it is refused before anything is written
    assert not (run / INPUTS_DIR).exists()
