"""Signal-space views: Rust-seeded, thread- and order-independent, 1:1 with the dataset's windows; view banks;
the noise-augmented training set (on the shipped sample, small scattering)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dacl.corpus import sample_path
from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import FeatureSet, load_features, preprocess
from dacl.views import signal as sv

SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return preprocess(sample_path(), tmp_path_factory.mktemp("sv") / "ds", num_threads=1, **SMALL)


@pytest.fixture(scope="module")
def features(dataset: Path) -> FeatureSet:
    return load_features(dataset, mmap=False)


def rows_of(fs: FeatureSet, split: str) -> np.ndarray:
    return np.flatnonzero(fs.record_split == split)


# --------------------------------------------------------------- the noise


def test_a_signal_view_is_q_sample_of_the_rust_schedule() -> None:
    """Same eps (the Philox stream at key/offset) and abar_t: a signal view is NoiseSchedule.q_sample."""
    from dacl._native import NoiseSchedule

    x0 = np.random.default_rng(0).standard_normal((2, 700))
    z_t, _ = NoiseSchedule("linear", 1000).q_sample(
        x0, np.array([57, 57], dtype=np.int64), seed=11, offset=5 * sv.RECORD_STRIDE
    )
    abar = sv.NoiseLevels("diffusion", "linear", 1000, t_max=259).alphas_cumprod()[57]
    np.testing.assert_array_equal(sv.noised(x0, abar, 11, 5 * sv.RECORD_STRIDE), z_t)


def test_levels_cover_the_schedule_or_the_snr_range() -> None:
    levels = sv.NoiseLevels("diffusion", t_max=259)
    a = levels.draw(50_000, key=3)
    t = np.searchsorted(-levels.alphas_cumprod(), -a) + 1  # abar decreases with t
    assert t.min() == 1 and t.max() == 259 and np.unique(t).size == 259
    high, low = levels.snr_db_range()
    assert high == pytest.approx(40.0, abs=0.01) and low == pytest.approx(0.0, abs=0.1)
    np.testing.assert_array_equal(a, levels.draw(50_000, key=3))
    assert not np.array_equal(a, levels.draw(50_000, key=4))
    flat = sv.NoiseLevels("snr", snr_low=0.0, snr_high=24.0).draw(50_000, key=1)
    snr = 10 * np.log10(flat / (1 - flat))
    assert 0 <= snr.min() < 0.01 and 23.99 < snr.max() <= 24 and abs(np.median(snr) - 12.0) < 0.2
    with pytest.raises(ValueError, match="t_max"):
        sv.NoiseLevels("diffusion", t_max=0)
    with pytest.raises(ValueError, match="noise levels"):
        sv.NoiseLevels("uniform")
    with pytest.raises(ValueError, match="SNR range"):
        sv.NoiseLevels("snr", snr_low=3.0, snr_high=1.0)


def test_record_views_have_the_drawn_snr(features: FeatureSet) -> None:
    """The noise added to a z-scored record has power (1 - abar)/abar relative to the record (after scaling)."""
    rows = rows_of(features, "train")[:6]
    captured: list[np.ndarray] = []

    def featurize_spy(signals: list[np.ndarray]) -> None:
        captured.extend(signals)
        raise StopIteration

    views = sv.SignalViews(features, rows, sv.NoiseLevels(), seed=4, num_threads=1)
    with pytest.raises(StopIteration):
        views._record_placement(views.signals(), range(len(views.rows)), 0, featurize_spy)  # type: ignore[arg-type]
    abar = views.levels.draw(len(features.record_ids), sv.view_key(4, 0, 1))[views.rows]
    for x, noisy, a in zip(views.signals(), captured, abar, strict=True):
        x0 = sv.zscore_leads(x)
        noise = noisy / np.sqrt(a) - x0
        measured = 10 * np.log10(np.var(x0) / np.mean(noise**2))
        assert measured == pytest.approx(10 * np.log10(a / (1 - a)), abs=0.25)


# ------------------------------------------------------- views and windows


@pytest.mark.parametrize("placement", ["record", "window"])
def test_views_map_one_to_one_onto_the_dataset_windows(features: FeatureSet, placement: str) -> None:
    rows = rows_of(features, "train")
    views = sv.SignalViews(features, rows, sv.NoiseLevels(), placement=placement, seed=0, num_threads=1)
    assert np.array_equal(views.windows, np.flatnonzero(features.window_mask("train")))
    v = views.views([0])[0]
    assert v.shape == (len(views.windows), *features.features.shape[1:])
    assert np.isfinite(v).all()
    # Nearly noise-free levels give back the dataset's own features, window by window.
    quiet = sv.SignalViews(
        features, rows, sv.NoiseLevels("snr", snr_low=300, snr_high=300), placement=placement, seed=0, num_threads=1
    ).views([0])[0]
    np.testing.assert_allclose(quiet, features.features[views.windows], atol=2e-3, rtol=0)
    # Noisy views are not the clean features.
    assert np.abs(v - features.features[views.windows]).mean() > 0.05


def test_a_view_whose_windows_do_not_match_is_refused(features: FeatureSet) -> None:
    rows = rows_of(features, "train")[:5]
    real = sv.SignalViews(features, rows, sv.NoiseLevels(), num_threads=1)
    signals, fs = real.signals(), real.fs

    def shortened(names: list[str]) -> tuple[list[np.ndarray], float]:
        return [x[:, : x.shape[1] // 2] if i == 2 else x for i, x in enumerate(signals)], fs  # type: ignore[return-value]

    views = sv.SignalViews(features, rows, sv.NoiseLevels(), read_signals=shortened, num_threads=1)
    with pytest.raises(ValueError, match=f"record {features.record_ids[rows[2]]}: .*do not match"):
        views.views([0])


@pytest.mark.parametrize("placement", ["record", "window"])
def test_views_do_not_depend_on_threads_chunking_or_which_records_come_along(
    features: FeatureSet, placement: str
) -> None:
    rows = rows_of(features, "train")
    one = sv.SignalViews(features, rows, sv.NoiseLevels(), placement=placement, seed=7, num_threads=1).views([0, 3])
    two = sv.SignalViews(
        features, rows, sv.NoiseLevels(), placement=placement, seed=7, num_threads=2, chunk_records=3
    ).views([0, 3])
    np.testing.assert_array_equal(one, two)
    # A record's view is a function of (seed, view, record) alone: the same from a subset of the records.
    sub_rows = rows[[1, 4, 9]]
    sub = sv.SignalViews(features, sub_rows, sv.NoiseLevels(), placement=placement, seed=7, num_threads=1)
    train_windows = np.flatnonzero(features.window_mask("train"))
    np.testing.assert_array_equal(sub.views([3])[0], one[1][np.isin(features.record_index[train_windows], sub_rows)])
    # Another seed or view number draws other noise.
    other = sv.SignalViews(features, rows, sv.NoiseLevels(), placement=placement, seed=8, num_threads=1).views([0])
    assert not np.array_equal(other[0], one[0]) and not np.array_equal(one[0], one[1])


def test_bank_holds_the_views_and_draws_distinct_ones_per_epoch(features: FeatureSet) -> None:
    views = sv.SignalViews(features, rows_of(features, "val"), sv.NoiseLevels(), seed=1, num_threads=1)
    reduce = ScatteringPoolEmbedder().embed
    bank = sv.ViewBank.build(views, 4, reduce)
    assert bank.vectors.shape == (4, len(views.windows), 2 * features.features.shape[2])
    np.testing.assert_array_equal(bank.vectors[2], reduce(views.views([2])[0]))
    assert bank.timing["windows"] > 0 and bank.timing["featurise"] > 0
    d = bank.draw(3, epoch=5, seed=0)
    assert d.shape == (len(views.windows), 3)
    assert all(len(set(r)) == 3 for r in d.tolist()) and d.min() >= 0 and d.max() < 4
    np.testing.assert_array_equal(d, bank.draw(3, epoch=5, seed=0))
    assert not np.array_equal(d, bank.draw(3, epoch=6, seed=0))
    with pytest.raises(ValueError, match="distinct"):
        bank.draw(5, epoch=0, seed=0)


def test_a_cached_bank_is_read_back_and_keyed_by_what_decides_it(features: FeatureSet, tmp_path: Path) -> None:
    views = sv.SignalViews(features, rows_of(features, "val"), sv.NoiseLevels(), seed=1, num_threads=1)
    reduce = ScatteringPoolEmbedder().embed
    bank = sv.ViewBank.build(views, 2, reduce, cache=tmp_path, reduce_tag="pool")
    again = sv.ViewBank.build(views, 2, reduce, cache=tmp_path, reduce_tag="pool")
    assert again.timing == {"cached": 1.0}
    np.testing.assert_array_equal(again.vectors, bank.vectors)
    assert len(list(tmp_path.glob("bank-*.npy"))) == 1 and not list(tmp_path.glob(".*"))
    # Another reduction, seed or size is another bank.
    sv.ViewBank.build(views, 2, reduce, cache=tmp_path, reduce_tag="other")
    other_seed = sv.SignalViews(features, rows_of(features, "val"), sv.NoiseLevels(), seed=2, num_threads=1)
    assert sv.ViewBank.build(other_seed, 2, reduce, cache=tmp_path, reduce_tag="pool").timing != {"cached": 1.0}
    assert len(list(tmp_path.glob("bank-*.npy"))) == 3
    # A cache file of the wrong shape is not used (it is rebuilt and replaced).
    sv.ViewBank.build(views, 2, reduce, cache=tmp_path / "one", reduce_tag="pool")
    (path,) = (tmp_path / "one").glob("bank-*.npy")
    np.save(path, np.zeros((1, 3), np.float32))
    rebuilt = sv.ViewBank.build(views, 2, reduce, cache=tmp_path / "one", reduce_tag="pool")
    assert rebuilt.timing != {"cached": 1.0}
    np.testing.assert_array_equal(np.load(path), bank.vectors)


def test_noise_augmented_features_add_noisy_copies_of_train_windows_only(features: FeatureSet) -> None:
    levels = sv.NoiseLevels("snr", snr_low=0.0, snr_high=24.0)
    augmented = sv.noise_augmented(features, levels, seed=0, copies=2)
    train = np.flatnonzero(features.window_mask("train"))
    n = len(features.features)
    assert len(augmented.features) == n + 2 * len(train)
    np.testing.assert_array_equal(augmented.features[:n], features.features)
    added = slice(n, None)
    np.testing.assert_array_equal(augmented.record_index[added], np.tile(features.record_index[train], 2))
    np.testing.assert_array_equal(augmented.starts[added], np.tile(features.starts[train], 2))
    assert set(augmented.record_split[augmented.record_index[added]]) == {"train"}
    for split in ("val", "test"):  # the other splits are untouched
        np.testing.assert_array_equal(
            augmented.features[augmented.window_mask(split)], features.features[features.window_mask(split)]
        )
    copies = augmented.features[added].reshape(2, len(train), *features.features.shape[1:])
    assert not np.array_equal(copies[0], copies[1])
    np.testing.assert_array_equal(
        copies[1], sv.SignalViews(features, rows_of(features, "train"), levels, seed=0, num_threads=1).views([1])[0]
    )
    with pytest.raises(ValueError, match="copies"):
        sv.noise_augmented(features, levels, copies=0)
