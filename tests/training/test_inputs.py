"""The train/val vectors: contextualised by index a chunk at a time, the same numbers as one call."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import multilabel_featureset, xor_featureset

from dacl.features.context import ContextConfig, contextualise
from dacl.training.inputs import contextualised_windows


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
def test_contextualised_windows_equal_one_call_and_read_a_chunk_at_a_time(make, chunk: int) -> None:
    fs = make()
    config = ContextConfig(chunk=chunk)
    mask = fs.window_mask("train")
    log = ReadLog(np.asarray(fs.features))
    got = contextualised_windows(dataclasses.replace(fs, features=log), mask, config)
    want = contextualise(np.asarray(fs.features[mask]), config)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert max(log.reads) <= chunk and sum(log.reads) == mask.sum()
