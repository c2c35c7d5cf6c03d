"""The one Standardiser: the contextualised vectors' z-score, DiffAug's clipping scaler, the latents' modes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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
