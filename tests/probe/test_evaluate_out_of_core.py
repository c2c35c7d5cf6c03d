"""``dacl evaluate`` on a dataset left in its shards scores exactly what it scores on the same windows in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dacl.corpus import sample_path
from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import load_features, preprocess
from dacl.features.sharded import ShardedArray
from dacl.probe import protocol


class _SmallBatches(ScatteringPoolEmbedder):
    """The scattering baseline given 64 windows at a time, so the 5-shard sample is read in many batches."""

    batch_size = 64


@pytest.mark.slow
def test_scores_equal_in_shards_and_in_memory(tmp_path: Path):
    out = preprocess(sample_path(), tmp_path / "ds", window=512, hop=384, J=5, Q=4, chunk_records=8)
    lazy, whole = load_features(out), load_features(out, mmap=False)
    assert isinstance(lazy.features, ShardedArray) and len(lazy.features.files) == 5
    a = protocol.evaluate(lazy, _SmallBatches(), n_boot=50)
    b = protocol.evaluate(whole, ScatteringPoolEmbedder(), n_boot=50)
    assert a.to_dict() == b.to_dict()
    np.testing.assert_array_equal(a.test_probs, b.test_probs)
    np.testing.assert_array_equal(a.test_embeddings, b.test_embeddings)
