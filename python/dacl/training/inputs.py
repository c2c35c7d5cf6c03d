"""What the stage trainers train on: standardised contextualised vectors of the train and val splits.

Leads enter as blocks of one vector: each lead's window is contextualised on its
own and the lead vectors are concatenated (:func:`dacl.features.context.contextualise`),
so the VAE, the DAE and DiffAug see ``L·d`` inputs and the SupCon encoder the
VAE latents of those. The labels are per window: class indices for single-label
data (``-1``: unlabelled), multi-hot float rows for multi-label data.

The vectors of a split stay on disk (:class:`WindowVectors`, a ``.npy`` file in the run
directory's ``inputs/`` folder, removed when training ends): they are computed, standardised
and written a block of windows at a time, and a training step reads its batch by index, so
the resident set holds a batch rather than the split, whatever the size of the corpus.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from dacl.features import FeatureSet
from dacl.features.context import ContextConfig, contextualise
from dacl.features.sharded import ShardedArray
from dacl.latent.scalers import ROWS_PER_BLOCK, Standardiser
from dacl.training.config import Config

#: The folder of a run directory that holds the split vectors while the run trains.
INPUTS_DIR = "inputs"
#: Rows per pass of whole-split work (val losses, encoding every window): memory that does not grow with the split.
PASS_BATCH = 4096


class WindowVectors:
    """The standardised ``(n, d)`` float32 vectors of one split, in a ``.npy`` file, read by index.

    ``vectors[index]`` (a 1-D long tensor, any order) reads those rows (each run of consecutive rows in one
    positioned read, :class:`~dacl.features.sharded.ShardedArray`) onto :attr:`device`;
    :meth:`batches` walks the split in order.
    """

    def __init__(self, path: Path, device: torch.device) -> None:
        self.path, self.device = Path(path), device
        self._rows = ShardedArray([self.path])

    @property
    def shape(self) -> tuple[int, int]:
        n, d = self._rows.shape
        return n, d

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._rows.read(index.cpu().numpy())).to(self.device)

    def batches(self, size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(positions, rows)`` of the whole split in order, ``size`` (default :data:`PASS_BATCH`) rows at a time."""
        size = PASS_BATCH if size is None else size
        for lo in range(0, len(self), size):
            index = torch.arange(lo, min(lo + size, len(self)), device=self.device)
            yield index, self[index]


@dataclasses.dataclass
class Inputs:
    """Standardised contextualised vectors (on disk) and labels (on device) of the train and val splits."""

    x_train: WindowVectors
    y_train: torch.Tensor  # (N,) long class index, or (N, C) float multi-hot (multi-label data)
    x_val: WindowVectors
    y_val: torch.Tensor
    standardiser: Standardiser
    feature_shape: tuple[int, int, int]  # (L, P, F) of a window
    leads: tuple[str, ...] = ()
    #: The folder this run made for the vectors; :meth:`remove` deletes it.
    folder: Path | None = None

    def remove(self) -> None:
        """Delete the vectors' folder (the run made it; nothing else is in it)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def window_labels(features: FeatureSet) -> tuple[np.ndarray, torch.dtype]:
    """Each window's labels as the SupCon loss takes them, and their torch dtype."""
    if features.task == "multi-label":
        return features.targets.astype(np.float32), torch.float32
    return features.labels, torch.long


def contextualised_blocks(features: FeatureSet, mask: np.ndarray, config: ContextConfig) -> Iterator[np.ndarray]:
    """``contextualise(features.features[mask], config)`` as consecutive blocks of rows, reading the windows by
    index ``config.chunk`` at a time, so the masked windows' features are never held together.

    The blocks are contextualise's own chunks, so the vectors are bit for bit those of one call.
    """
    index = np.flatnonzero(mask)
    for lo in range(0, len(index), config.chunk):
        yield contextualise(np.asarray(features.features[index[lo : lo + config.chunk]]), config)


def write_vectors(path: Path, blocks: Iterator[np.ndarray], n: int) -> int:
    """Write the ``n`` rows of ``blocks`` (float32, one width) as a ``.npy`` file; returns its data offset."""
    first = next(blocks, None)
    d = 0 if first is None else first.shape[1]
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False, "shape": (n, d)}
    written = 0
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        offset = f.tell()
        for block in itertools.chain([] if first is None else [first], blocks):
            f.write(np.ascontiguousarray(block, np.float32).data)
            written += len(block)
    if written != n:
        raise RuntimeError(f"{path}: wrote {written} of {n} rows")
    return offset


def standardise_in_place(path: Path, offset: int, standardiser: Standardiser) -> None:
    """Standardise the rows of the ``.npy`` file ``path`` (data at ``offset``), a block at a time."""
    rows = ShardedArray([path])
    row_bytes = rows.shape[1] * 4
    fd = os.open(path, os.O_WRONLY)
    try:
        for lo in range(0, len(rows), ROWS_PER_BLOCK):
            block = standardiser.transform(rows[lo : lo + ROWS_PER_BLOCK])
            view, done = block.data.cast("B"), 0
            while done < len(view):
                done += os.pwrite(fd, view[done:], offset + lo * row_bytes + done)
    finally:
        os.close(fd)


def prepare_inputs(config: Config, features: FeatureSet, device: torch.device, folder: Path) -> Inputs:
    """Contextualise every train/val window into ``folder`` (made here; :meth:`Inputs.remove` deletes it) and
    z-score with train-split statistics."""
    train_mask = features.window_mask(config.data.train_split)
    val_mask = features.window_mask(config.data.val_split)
    if train_mask.sum() < 2:
        raise ValueError(
            f"the features have {int(train_mask.sum())} windows in split {config.data.train_split!r}; "
            "need at least 2 (did you run `dacl split`?)"
        )
    labels, label_dtype = window_labels(features)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = {split: folder / f"{split}.npy" for split in ("train", "val")}
        offsets = {
            split: write_vectors(paths[split], contextualised_blocks(features, mask, config.context), int(mask.sum()))
            for split, mask in (("train", train_mask), ("val", val_mask))
        }
        standardiser = Standardiser.fit(ShardedArray([paths["train"]]))
        for split in ("train", "val"):
            standardise_in_place(paths[split], offsets[split], standardiser)
        _, n_leads, n_paths, n_frames = features.features.shape
        return Inputs(
            x_train=WindowVectors(paths["train"], device),
            y_train=torch.as_tensor(labels[train_mask], dtype=label_dtype).to(device),
            x_val=WindowVectors(paths["val"], device),
            y_val=torch.as_tensor(labels[val_mask], dtype=label_dtype).to(device),
            standardiser=standardiser,
            feature_shape=(int(n_leads), int(n_paths), int(n_frames)),
            leads=tuple(features.leads),
            folder=folder,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
