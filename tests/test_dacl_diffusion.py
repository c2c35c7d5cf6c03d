"""Forward-diffusion views (torch side) against the Rust NoiseSchedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dacl._native import NoiseSchedule
from dacl.views.diffusion import (
    alphas_cumprod,
    diffusion_views,
    gaussian_views,
    latent_standardiser,
    q_sample,
    sample_timesteps,
)


def test_alphas_cumprod_comes_from_rust_with_clean_step_prepended() -> None:
    abar = alphas_cumprod("cosine", 50)
    ref = NoiseSchedule("cosine", 50).alphas_cumprod
    assert abar.shape == (51,) and abar.dtype == torch.float32
    assert abar[0].item() == 1.0
    np.testing.assert_allclose(abar[1:].numpy(), ref.astype(np.float32))
    custom = alphas_cumprod("linear", 10, beta_start=0.01, beta_end=0.2)
    np.testing.assert_allclose(custom[1:].numpy(), NoiseSchedule("linear", 10, beta_start=0.01, beta_end=0.2)
                               .alphas_cumprod.astype(np.float32))


@pytest.mark.parametrize("t_fixed", [1, 40, 300])
def test_view_statistics_match_the_closed_form(t_fixed: int) -> None:
    """With t fixed, views of one z0 have mean sqrt(ᾱ_t) z0 and variance 1 - ᾱ_t per dimension."""
    abar = alphas_cumprod("linear", 1000)
    z0 = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    g = torch.Generator().manual_seed(0)
    n = 20000
    if t_fixed == 1:  # through diffusion_views: t_max = 1 pins t
        views, t = diffusion_views(z0.expand(n, 4), 1, 1, abar, g)
        assert (t == 1).all()
        views = views[:, 0]
    else:
        noise = torch.randn((n, 4), generator=g)
        views = q_sample(z0.expand(n, 4), torch.full((n,), t_fixed), abar, noise)
    a = abar[t_fixed].item()
    se_mean = np.sqrt((1 - a) / n)
    torch.testing.assert_close(views.mean(0), np.sqrt(a) * z0[0], atol=5 * se_mean, rtol=0)
    torch.testing.assert_close(views.var(0), torch.full((4,), 1 - a), atol=5 * (1 - a) * np.sqrt(2 / n), rtol=0)


def test_torch_q_sample_agrees_with_rust_given_the_same_noise() -> None:
    schedule = NoiseSchedule("linear", 1000)
    abar = alphas_cumprod("linear", 1000)
    rng = np.random.default_rng(1)
    z0 = rng.normal(size=(6, 5))
    t = rng.integers(1, 1001, size=(6, 3))
    z_rust, eps = schedule.q_sample(z0, t - 1, seed=7)  # Rust index t-1 is step t
    z_torch = q_sample(torch.from_numpy(z0)[:, None, :], torch.from_numpy(t), abar.double(), torch.from_numpy(eps))
    np.testing.assert_allclose(z_torch.numpy(), z_rust, rtol=1e-6, atol=1e-6)


def test_timesteps_cover_1_to_t_max_and_views_are_seeded() -> None:
    g = torch.Generator().manual_seed(3)
    t = sample_timesteps(5000, 2, 7, g)
    assert t.min().item() == 1 and t.max().item() == 7
    abar = alphas_cumprod("linear", 100)
    z0 = torch.randn(4, 6)
    v1, t1 = diffusion_views(z0, 3, 20, abar, torch.Generator().manual_seed(9))
    v2, t2 = diffusion_views(z0, 3, 20, abar, torch.Generator().manual_seed(9))
    assert v1.shape == (4, 3, 6) and t1.shape == (4, 3)
    torch.testing.assert_close(v1, v2)
    assert torch.equal(t1, t2)
    with pytest.raises(ValueError, match="exceeds"):
        diffusion_views(z0, 2, 101, abar, g)
    with pytest.raises(ValueError, match="t_max"):
        sample_timesteps(2, 2, 0, g)


def test_gaussian_views_statistics() -> None:
    z0 = torch.tensor([[1.0, -2.0]])
    views = gaussian_views(z0.expand(20000, 2), 2, 0.3, torch.Generator().manual_seed(4))
    assert views.shape == (20000, 2, 2)
    torch.testing.assert_close(views.mean((0, 1)), z0[0], atol=0.01, rtol=0)
    torch.testing.assert_close(views.std((0, 1)), torch.full((2,), 0.3), atol=0.01, rtol=0)


def test_latent_standardiser_modes() -> None:
    g = torch.Generator().manual_seed(0)
    # two informative dimensions and one the VAE barely uses
    z = torch.randn(4000, 3, generator=g) * torch.tensor([2.0, 1.0, 0.01]) + torch.tensor([5.0, -1.0, 3.0])
    mean, std = latent_standardiser(z, "per_dim")
    zs = (z - mean) / std
    torch.testing.assert_close(zs.std(dim=0), torch.ones(3))
    mean, std = latent_standardiser(z, "global")
    zg = (z - mean) / std
    torch.testing.assert_close(zg.mean(dim=0), torch.zeros(3), atol=1e-5, rtol=0)
    assert torch.all(std == std[0])  # one scale for every dimension
    torch.testing.assert_close(zg.std(dim=0).pow(2).mean(), torch.tensor(1.0), atol=1e-5, rtol=0)
    assert zg.std(dim=0)[2] < 0.02  # the unused dimension stays small: forward noise swamps it
    mean, std = latent_standardiser(z, "none")
    assert torch.equal((z - mean) / std, z)
    with pytest.raises(ValueError, match="per_dim"):
        latent_standardiser(z, "zscore")
