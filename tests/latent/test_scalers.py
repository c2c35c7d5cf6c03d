"""The one Standardiser: the contextualised vectors' z-score, DiffAug's clipping scaler, the latents' modes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dacl.latent import scalers
from dacl.latent.scalers import Standardiser


def _latent(z: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` as the latent path fits them: torch, unbiased std."""
    s = Standardiser.fit(z, mode=mode, ddof=1)
    return s.mean, s.std


def test_vector_scaler_maps_to_unit_box_and_inverts() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(500, 3))
    s = Standardiser.fit(x, clip=3.0)
    y = s.transform(x)
    assert y.dtype == np.float32 and np.abs(y).max() <= 1.0
    inner = np.abs(y).max(axis=1) < 1.0
    back = s.inverse_torch(torch.from_numpy(y[inner]).double()).numpy()
    np.testing.assert_allclose(back, x[inner], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        Standardiser.fit(np.array([[np.nan], [1.0]]), clip=3.0)


def test_standardiser_round_trip() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(3.0, 2.0, size=(50, 4))
    x[:, 2] = 1.0  # constant column: no division by zero
    s = Standardiser.fit(x)
    z = s.transform(x)
    np.testing.assert_allclose(z[:, [0, 1, 3]].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, [0, 1, 3]].std(axis=0), 1, atol=1e-5)
    assert np.all(z[:, 2] == 0)
    s2 = Standardiser.from_dict(s.to_dict())
    np.testing.assert_array_equal(s2.transform(x), z)
    with pytest.raises(ValueError, match="expected"):
        s.transform(np.zeros((2, 3)))


def test_latent_standardiser_modes() -> None:
    g = torch.Generator().manual_seed(0)
    # two informative dimensions and one the VAE barely uses
    z = torch.randn(4000, 3, generator=g) * torch.tensor([2.0, 1.0, 0.01]) + torch.tensor([5.0, -1.0, 3.0])
    mean, std = _latent(z, "per_dim")
    zs = (z - mean) / std
    torch.testing.assert_close(zs.std(dim=0), torch.ones(3))
    mean, std = _latent(z, "global")
    zg = (z - mean) / std
    torch.testing.assert_close(zg.mean(dim=0), torch.zeros(3), atol=1e-5, rtol=0)
    assert torch.all(std == std[0])  # one scale for every dimension
    torch.testing.assert_close(zg.std(dim=0).pow(2).mean(), torch.tensor(1.0), atol=1e-5, rtol=0)
    assert zg.std(dim=0)[2] < 0.02  # the unused dimension stays small: forward noise swamps it
    mean, std = _latent(z, "none")
    assert torch.equal((z - mean) / std, z)
    with pytest.raises(ValueError, match="per_dim"):
        _latent(z, "zscore")


@pytest.mark.parametrize("rows_per_block", [1, 7, 4096])
@pytest.mark.parametrize("ddof", [0, 1])
def test_numpy_fit_and_transform_by_blocks_give_the_numbers_of_one_pass(
    monkeypatch, rows_per_block: int, ddof: int
) -> None:
    """Fitting and transforming a block of rows at a time (no float64 copy of the whole input) gives
    numpy's mean and std of the whole float64 array and its one-pass transform, bit for bit."""
    monkeypatch.setattr(scalers, "ROWS_PER_BLOCK", rows_per_block)
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(1001, 12)) * rng.uniform(0.01, 1e3, size=12) + 5.0).astype(np.float32)
    x64 = x.astype(np.float64)
    for clip in (None, 3.0):
        s = Standardiser.fit(x, ddof=ddof, clip=clip)
        assert np.array_equal(s.mean, x64.mean(axis=0)) and np.array_equal(s.std, x64.std(axis=0, ddof=ddof))
        one_pass = (x - s.mean) / s.scale
        one_pass = (one_pass if clip is None else np.clip(one_pass, -1.0, 1.0)).astype(np.float32)
        assert np.array_equal(s.transform(x), one_pass)
    with pytest.raises(ValueError, match="NaN or inf"):
        Standardiser.fit(np.concatenate([x, np.full((1, 12), np.nan, np.float32)]))


def test_transform_in_place_gives_the_numbers_of_a_new_array() -> None:
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(50, 7)).astype(np.float32)
    s = Standardiser.fit(x, clip=2.5)
    expected = s.transform(x)
    y = x.copy()
    assert s.transform(y, out=y) is y
    np.testing.assert_array_equal(y, expected)
    with pytest.raises(ValueError, match="out must be float32"):
        s.transform(x, out=np.empty(x.shape, np.float64))
