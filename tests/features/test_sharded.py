"""The windows of a dataset read from its shards on demand (:class:`ShardedArray`): the same values as the arrays
in memory, whatever the index, and a resident set that does not grow with what was read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dacl.features.sharded import ShardedArray, iter_batches
from dacl.probe.linear import embed_checked

ROW = (2, 3, 4)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> tuple[ShardedArray, np.ndarray]:
    """Shards of 5, 0, 7 and 1 rows, and the same rows in memory."""
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((n, *ROW)).astype(np.float32) for n in (5, 0, 7, 1)]
    files = []
    for i, part in enumerate(parts):
        files.append(root / f"{i}.npy")
        np.save(files[-1], part)
    return ShardedArray(files), np.concatenate(parts)


def test_what_it_is(shards):
    array, whole = shards
    assert array.shape == whole.shape and array.ndim == 4 and len(array) == 13 and array.dtype == np.float32
    assert array.size == whole.size and array.nbytes == whole.nbytes
    np.testing.assert_array_equal(np.asarray(array), whole)


@pytest.mark.parametrize(
    "key",
    [
        0,
        12,
        -1,
        -13,
        slice(None),
        slice(3, 9),
        slice(11, 2, -2),
        slice(20, 30),
        [4, 5, 12, 0],
        [7, 7, 1, 7],
        np.array([], dtype=np.int64),
        (slice(2, 8), 1),
        ([0, 6, 2], 0, slice(1, 3)),
        (5, 1, 2),
    ],
)
def test_indexing_reads_what_numpy_would(shards, key):
    array, whole = shards
    np.testing.assert_array_equal(array[key], whole[key])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=13, max_size=13))
def test_a_boolean_mask_reads_what_numpy_would(shards, mask):
    array, whole = shards
    np.testing.assert_array_equal(array[np.array(mask)], whole[np.array(mask)])


@pytest.mark.parametrize("key", [13, -14, [0, 13], np.zeros(12, bool), [[0, 1]], [0.5]])
def test_bad_indices_are_index_errors(shards, key):
    with pytest.raises(IndexError):
        shards[0][key]


@pytest.mark.parametrize("batch", [1, 4, 100])
def test_batches_walk_the_rows_asked_for_in_their_order(shards, batch):
    array, whole = shards
    rows = np.array([9, 2, 2, 11, 0, 5])
    for indices in (None, rows, np.isin(np.arange(13), rows)):
        got = list(array.iter_batches(indices, batch))
        want = list(iter_batches(whole, indices, batch))
        assert [len(i) for i, _ in got] == [len(i) for i, _ in want] and all(len(i) <= batch for i, _ in got)
        for (gi, gx), (wi, wx) in zip(got, want, strict=True):
            np.testing.assert_array_equal(gi, wi)
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gx, whole[gi])


def test_rows_seen_with_another_shape(shards):
    array, whole = shards
    np.testing.assert_array_equal(array.with_row_shape((1, 6, 4))[3:5], whole[3:5].reshape(2, 1, 6, 4))
    with pytest.raises(ValueError, match="cannot be read as"):
        array.with_row_shape((5, 5))


def test_damaged_or_mismatched_files_are_value_errors(tmp_path: Path):
    np.save(tmp_path / "a.npy", np.zeros((3, 2), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"b\.npy: rows of shape \(5,\).*do not belong together"):
        ShardedArray([tmp_path / "a.npy", tmp_path / "b.npy"])
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "c.npy").write_bytes(data[:-4])
    with pytest.raises(ValueError, match=r"c\.npy is shorter than its header says"):
        ShardedArray([tmp_path / "c.npy"])
    (tmp_path / "d.npy").write_bytes(b"not an array at all")
    with pytest.raises(ValueError, match=r"d\.npy is not a \.npy file"):
        ShardedArray([tmp_path / "d.npy"])


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmRSS from /proc (Linux)")
def test_reading_every_batch_leaves_the_resident_set_flat(tmp_path: Path):
    """96 MiB of windows in 6 shards, read batch by batch: the process grows by far less than the data (a live
    memmap of the files would keep every page read resident), and what was read was right."""
    files, rows = [], 4096
    for i in range(6):
        files.append(tmp_path / f"{i}.npy")
        np.save(files[-1], np.full((rows, 1024), i, np.float32))  # 16 MiB each
    array = ShardedArray(files)
    before = _rss_kib()
    total = 0.0
    for _, batch in array.iter_batches(batch=512):
        total += float(batch[:, 0].sum())
    grown = _rss_kib() - before
    assert total == sum(i * rows for i in range(6))
    assert grown < 16 * 1024, f"resident set grew by {grown} KiB reading 96 MiB in batches of 2 MiB"


class _Recorder:
    """A per-window embedder (mean over paths and frames) that records the batch sizes it is given."""

    name = "recorder"
    batch_size = 3

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features)
        self.sizes.append(len(x))
        return x.mean(axis=(2, 3)).astype(np.float32)


def test_embedding_goes_batch_by_batch_with_the_same_numbers(shards):
    array, whole = shards
    mask = np.arange(13) % 2 == 0
    embedder = _Recorder()
    z = embed_checked(embedder, array, mask)
    np.testing.assert_array_equal(z, whole[mask].mean(axis=(2, 3)))
    assert embedder.sizes == [3, 3, 1]  # 7 windows in the embedder's batches, never all at once
    assert embed_checked(_Recorder(), array, np.zeros(13, bool)).shape == (0, 2)


def test_load_features_leaves_the_windows_in_the_shards(tmp_path: Path):
    from dacl.corpus import sample_path
    from dacl.features import load_features, preprocess

    out = preprocess(sample_path(), tmp_path / "ds", window=512, hop=384, J=5, Q=4, chunk_records=8)
    lazy, whole = load_features(out), load_features(out, mmap=False)
    assert isinstance(lazy.features, ShardedArray) and isinstance(whole.features, np.ndarray)
    assert [f.parent.name for f in lazy.features.files] == [f"{k:06d}" for k in range(5)]
    assert lazy.features.shape == whole.features.shape and lazy.features.dtype == whole.features.dtype
    np.testing.assert_array_equal(np.asarray(lazy.features), whole.features)
    train = lazy.window_mask("train")
    np.testing.assert_array_equal(lazy.features[train], whole.features[train])
